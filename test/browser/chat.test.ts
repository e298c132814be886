/**
 * The app in a real browser, as people use it: Chromium pages against the
 * real `wrangler dev`, every person in a browser context of their own. What a
 * page shows is read from its DOM (the log is the list inside the role="log" region); after
 * every test no page may have logged an error, hit a CSP violation or opened
 * a dialog.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Browser, Page } from "playwright-core";
import type { DevServer } from "../e2e/wrangler-dev";
import {
  MOBILE,
  WAIT_MS,
  composer,
  countInLog,
  deliveryState,
  dropConnection,
  entryWith,
  eventually,
  joinRoom,
  keepSockets,
  logEntries,
  messageLog,
  peoplePerTest,
  nickInput,
  rosterNames,
  say,
  startServerAndBrowser,
  stopServer,
  submitNick,
  waitForInLog,
  accessibilityViolations,
  type Person,
} from "./harness";

/** expect.poll's default of 1 s is short for a page on a busy machine. */
const POLL = { timeout: WAIT_MS };
const rosterCount = (page: Page) => page.locator("#roster-count").textContent();

let server: DevServer;
let browser: Browser;

// The laptop's page, offline for a moment, fails to reconnect until it is back.
const person = peoplePerTest(() => browser, /WebSocket connection to .* failed: .*ERR_INTERNET_DISCONNECTED/);

beforeAll(async () => {
  ({ server, browser } = await startServerAndBrowser());
}, 90_000);

afterAll(async () => {
  await browser?.close();
  await stopServer(server);
});

describe("chatting in the browser", () => {
  it("lets two pages chat both ways, each message shown once on each", async () => {
    const alice = await person("alice");
    const bob = await person("bob");
    await joinRoom(alice, server.url, "both-ways", "Alice");
    await joinRoom(bob, server.url, "both-ways", "Bob");

    await say(alice.page, "Hello Bob, can you read me?");
    await waitForInLog(bob.page, "Hello Bob, can you read me?");
    await say(bob.page, "Loud and clear, Alice.");
    await waitForInLog(alice.page, "Loud and clear, Alice.");
    await say(alice.page, "Great: two lines,\nin one message.");
    await waitForInLog(bob.page, "in one message.");

    for (const page of [alice.page, bob.page]) {
      expect(await countInLog(page, "Hello Bob, can you read me?")).toBe(1);
      expect(await countInLog(page, "Loud and clear, Alice.")).toBe(1);
      expect(await countInLog(page, "in one message.")).toBe(1);
    }
    // The sender's name comes with each message, and the composer is emptied.
    expect(await entryWith(bob.page, "Hello Bob").textContent()).toContain("Alice");
    expect(await composer(alice.page).inputValue()).toBe("");
  });

  it("marks one's own messages as sent once the room has them (data-state)", async () => {
    const alice = await person("alice");
    const bob = await person("bob");
    await joinRoom(alice, server.url, "own-state", "Alice");
    await joinRoom(bob, server.url, "own-state", "Bob");
    await say(alice.page, "Is this one mine?");
    await waitForInLog(bob.page, "Is this one mine?");
    const state = await eventually(
      () => deliveryState(alice.page, "Is this one mine?"),
      (value) => value === "sent",
    );
    expect(state, "data-state of Alice's own message on her page").toBe("sent");
    // Only one's own messages carry a delivery state.
    expect(await deliveryState(bob.page, "Is this one mine?")).toBeNull();
  });

  it("keeps a message the room would refuse, with the reason, Retry and Discard; a rename goes out in order", async () => {
    const alice = await person("alice");
    const bob = await person("bob");
    await joinRoom(alice, server.url, "refused-own", "Alice");
    await joinRoom(bob, server.url, "refused-own", "Bob");
    // A right-to-left override: the outbox checks with the room's own parser and refuses it before sending.
    const spoof = "gnp.exe\u202Eharmless";
    await say(alice.page, spoof);
    await expect.poll(() => deliveryState(alice.page, "harmless"), POLL).toBe("failed");
    expect(await entryWith(alice.page, "harmless").textContent()).toContain("bidirectional overrides");
    // Retry: the same item, still refused, and still one.
    await entryWith(alice.page, "harmless").getByRole("button", { name: "Retry" }).click();
    await expect.poll(() => deliveryState(alice.page, "harmless"), POLL).toBe("failed");
    expect(await countInLog(alice.page, "harmless")).toBe(1);
    await entryWith(alice.page, "harmless").getByRole("button", { name: "Discard" }).click();
    await expect.poll(() => countInLog(alice.page, "harmless"), POLL).toBe(0);
    // The next message goes out as usual; a rename and a message reach the others in that order.
    await say(alice.page, "/nick Alicia");
    await say(alice.page, "Same person, new name");
    await waitForInLog(bob.page, "Same person, new name");
    const entries = await logEntries(bob.page);
    const renamed = entries.findIndex((entry) => entry.includes("Alice is now Alicia"));
    const said = entries.findIndex((entry) => entry.includes("Same person, new name"));
    expect(renamed, entries.join(" | ")).toBeGreaterThanOrEqual(0);
    expect(renamed).toBeLessThan(said);
    expect(await countInLog(bob.page, "harmless")).toBe(0);
    expect(await entryWith(bob.page, "Same person, new name").textContent()).toContain("Alicia");
  });

  it("shows joins, leaves, who is typing and the roster", async () => {
    const alice = await person("alice");
    await joinRoom(alice, server.url, "roster", "Alice");
    await expect.poll(() => rosterCount(alice.page), POLL).toBe("1");
    expect(await rosterNames(alice.page)).toEqual(["Alice"]);

    const bob = await person("bob");
    await joinRoom(bob, server.url, "roster", "Bob");
    await waitForInLog(alice.page, "Bob joined");
    await expect.poll(() => rosterCount(alice.page), POLL).toBe("2");
    expect(await rosterNames(alice.page)).toEqual(["Alice", "Bob"]);
    expect(await rosterNames(bob.page)).toEqual(["Alice", "Bob"]);
    expect(await rosterCount(bob.page)).toBe("2");
    // A newcomer is not told that they joined.
    expect(await countInLog(bob.page, "Bob joined")).toBe(0);

    // Typing shows on the other page, and stops with the message.
    await composer(bob.page).pressSequentially("I am wri");
    await alice.page.getByText("Bob is typing…").waitFor();
    await composer(bob.page).press("Enter");
    await waitForInLog(alice.page, "I am wri");
    await expect.poll(() => alice.page.locator("#typing").textContent(), POLL).toBe("");

    const carol = await person("carol");
    await joinRoom(carol, server.url, "roster", "Carol");
    await expect.poll(() => rosterCount(alice.page), POLL).toBe("3");
    expect(await rosterNames(alice.page)).toEqual(["Alice", "Bob", "Carol"]);

    // Bob closes his tab: the others see him go.
    await bob.close();
    for (const page of [alice.page, carol.page]) {
      await waitForInLog(page, "Bob left");
      await expect.poll(() => rosterCount(page), POLL).toBe("2");
      expect(await rosterNames(page)).toEqual(["Alice", "Carol"]);
    }
  });

  it("says next to the field that a nickname is taken, then joins with another", async () => {
    const alice = await person("alice");
    await joinRoom(alice, server.url, "taken", "Alice");

    const other = await person("other");
    await other.page.goto(`${server.url}/r/taken`);
    await submitNick(other.page, "ALICE");
    const error = other.page.locator("#nick-error");
    await error.waitFor({ state: "visible" });
    expect(await error.textContent()).toMatch(/already in this room/);
    // The error belongs to the field: described by it, and the field marked invalid.
    expect(await nickInput(other.page).getAttribute("aria-describedby")).toContain("nick-error");
    expect(await nickInput(other.page).getAttribute("aria-invalid")).toBe("true");
    expect(await other.page.locator("#chat-view").isVisible()).toBe(false);
    expect(await other.page.locator("#join-button").isEnabled()).toBe(true);

    await submitNick(other.page, "Alicia");
    await other.page.locator("#chat-view").waitFor({ state: "visible" });
    await waitForInLog(alice.page, "Alicia joined");
    expect(await rosterNames(other.page)).toEqual(["Alice", "Alicia"]);
    await say(other.page, "Second try worked.");
    await waitForInLog(alice.page, "Second try worked.");
  });

  it("shows markup in messages and nicknames as text, and runs none of it", async () => {
    const alice = await person("alice");
    const bob = await person("bob");
    await joinRoom(alice, server.url, "markup", "<b>Alice</b>");
    await joinRoom(bob, server.url, "markup", "Bob");
    const image = "<img src=x onerror=alert(1)>";
    const script = "<script>alert(2)</script> and <a href=javascript:alert(3)>a link</a>";
    await say(alice.page, image);
    await say(alice.page, script);
    await waitForInLog(bob.page, "a link</a>");

    for (const page of [alice.page, bob.page]) {
      const entries = await logEntries(page);
      expect(entries.filter((entry) => entry.includes(image))).toHaveLength(1);
      expect(entries.filter((entry) => entry.includes(script))).toHaveLength(1);
      expect(await messageLog(page).locator("img, script, a[href^='javascript']").count()).toBe(0);
      expect(await entryWith(page, image).textContent()).toContain("<b>Alice</b>");
    }
    expect(await rosterNames(bob.page)).toEqual(["<b>Alice</b>", "Bob"].sort());
    // Give a dialog a moment to open, should one have been let through.
    await bob.page.waitForTimeout(300);
    expect(alice.dialogs).toEqual([]);
    expect(bob.dialogs).toEqual([]);
  });

  it("keeps the history across a reload, without duplicates", async () => {
    const alice = await person("alice");
    const bob = await person("bob");
    await joinRoom(alice, server.url, "reload", "Alice");
    await joinRoom(bob, server.url, "reload", "Bob");
    const earlier = ["First, from Alice", "Second, from Bob", "Third, from Alice"];
    await say(alice.page, earlier[0]!);
    await waitForInLog(bob.page, earlier[0]!);
    await say(bob.page, earlier[1]!);
    await waitForInLog(alice.page, earlier[1]!);
    await say(alice.page, earlier[2]!);
    await waitForInLog(bob.page, earlier[2]!);

    await bob.page.reload();
    // The page may take the person straight back in, or ask for the nickname again.
    await bob.page.locator("#chat-view:not([hidden]), #join-view:not([hidden])").first().waitFor();
    if (await bob.page.locator("#join-view").isVisible()) {
      expect(await nickInput(bob.page).inputValue(), "the nickname is remembered").toBe("Bob");
      await nickInput(bob.page).press("Enter");
      await bob.page.locator("#chat-view").waitFor({ state: "visible" });
    }
    for (const text of earlier) await waitForInLog(bob.page, text);

    await say(alice.page, "Fourth, after Bob's reload");
    await waitForInLog(bob.page, "Fourth, after Bob's reload");
    for (const page of [alice.page, bob.page]) {
      for (const text of [...earlier, "Fourth, after Bob's reload"]) expect(await countInLog(page, text)).toBe(1);
    }
    // In the order they were sent, on both pages.
    const sent = [...earlier, "Fourth, after Bob's reload"];
    for (const page of [alice.page, bob.page]) {
      const order = (await logEntries(page))
        .map((entry) => sent.findIndex((text) => entry.includes(text)))
        .filter((index) => index >= 0);
      expect(order).toEqual([0, 1, 2, 3]);
    }
  });

  it("fits a 360×740 phone: no sideways scrolling, the composer in view", async () => {
    const phone = await person("phone", MOBILE);
    const room = "a-rather-long-room-name-for-a-small-phone-screen";
    await phone.page.goto(`${server.url}/`);
    expect(await horizontalOverflow(phone)).toBe(0);
    await phone.page.goto(`${server.url}/r/${room}`);
    expect(await horizontalOverflow(phone)).toBe(0);
    await submitNick(phone.page, "Zoë with a rather long nickname");
    await phone.page.locator("#chat-view").waitFor({ state: "visible" });

    await say(phone.page, `An unbroken line: ${"abcdefghij".repeat(15)}`);
    await say(phone.page, "https://example.com/a/very/long/address/that/keeps/going/and/going/and/going/on/and/on");
    for (let i = 1; i <= 8; i++)
      await say(phone.page, `Message number ${i} of a busy room, long enough to wrap on a phone.`);
    await waitForInLog(phone.page, "Message number 8");

    expect(await horizontalOverflow(phone)).toBe(0);
    const viewport = phone.page.viewportSize()!;
    for (const selector of ["#text", "#composer button[type=submit]"]) {
      const box = await phone.page.locator(selector).boundingBox();
      expect(box, `${selector} is laid out`).not.toBeNull();
      expect(box!.x).toBeGreaterThanOrEqual(0);
      expect(box!.y).toBeGreaterThanOrEqual(0);
      expect(box!.x + box!.width, `${selector} within the width`).toBeLessThanOrEqual(viewport.width);
      expect(box!.y + box!.height, `${selector} within the height`).toBeLessThanOrEqual(viewport.height);
    }
    // The newest message is in view above the composer.
    const last = await entryWith(phone.page, "Message number 8").boundingBox();
    const composerBox = await phone.page.locator("#composer").boundingBox();
    expect(last!.y + last!.height).toBeLessThanOrEqual(composerBox!.y + 1);
  });
});

/** How many CSS pixels the page is wider than its viewport (0: no sideways scrolling). */
async function horizontalOverflow(person: Person): Promise<number> {
  const width = await person.page.evaluate<number>(
    "Math.max(document.documentElement.scrollWidth, document.body.scrollWidth) - document.documentElement.clientWidth",
  );
  return Math.max(0, width);
}

describe("owning a room", () => {
  it("makes the creator of a private room its owner (on other devices too), whose moderator deletes, bans and kicks; settings reach everyone", async () => {
    const olu = await person("olu");
    await olu.page.goto(`${server.url}/`);
    await Promise.all([
      olu.page.waitForURL(/\/r\/[a-z2-7]{26}$/),
      olu.page.getByRole("button", { name: "Create a private room" }).click(),
    ]);
    const room = new URL(olu.page.url()).pathname.slice("/r/".length);
    await submitNick(olu.page, "Olu");
    await olu.page.locator("#chat-view").waitFor({ state: "visible" });
    await olu.page.getByText("You own this room.").waitFor();
    expect(await olu.page.locator("#roster-list li").allTextContents()).toEqual(["Olu owner (you)"]);
    expect(await accessibilityViolations(olu.page), "WCAG 2.1 AA violations: the owner's page").toEqual([]);

    // The owner link on another device: the key is kept there, and leaves the address bar.
    const key = await olu.page.evaluate<string>(`localStorage.getItem("edge-chat:owner-key:${room}")`);
    expect(key).toMatch(/^[a-z2-7]{32}$/);
    const laptop = await person("laptop");
    await keepSockets(laptop);
    await laptop.page.goto(`${server.url}/r/${room}#owner=${key}`);
    expect(laptop.page.url()).toBe(`${server.url}/r/${room}`);
    await submitNick(laptop.page, "Olu on the laptop");
    await laptop.page.getByText("You own this room.").waitFor();

    // A forged owner link: said next to the name, forgotten, and the next try joins as a member.
    const mallory = await person("mallory");
    await mallory.page.goto(`${server.url}/r/${room}#owner=${"a".repeat(32)}`);
    await submitNick(mallory.page, "Mallory");
    await mallory.page.locator("#nick-error", { hasText: "not this room's owner key" }).waitFor();
    await submitNick(mallory.page, "Mallory");
    await mallory.page.locator("#chat-view").waitFor({ state: "visible" });
    expect(await mallory.page.locator("#ownership").isHidden()).toBe(true);

    // The owner appoints Mallory a moderator (by nickname, any case); everyone sees it.
    await waitForInLog(olu.page, "Mallory joined");
    await say(olu.page, "/mod mallory");
    await waitForInLog(mallory.page, "Olu made you a moderator");
    await waitForInLog(laptop.page, "Olu made Mallory a moderator");
    await expect
      .poll(() => mallory.page.locator("#roster-list li", { hasText: "Mallory" }).textContent(), POLL)
      .toBe("Mallory moderator (you)");
    // A topic, under the room's name for everyone.
    await say(olu.page, "/topic Release day: keep it on topic");
    await mallory.page.locator("#topic", { hasText: "Release day: keep it on topic" }).waitFor();
    await waitForInLog(laptop.page, "Olu set the topic: Release day: keep it on topic");
    // A moderator appoints no one: the room says so.
    await say(mallory.page, "/mod Olu");
    await mallory.page.locator("#notice", { hasText: "Only the room's owner" }).waitFor();

    // A ban from the roster's dialog: the one banned is told why and until when, and stays out.
    const troll = await person("troll");
    await joinRoom(troll, server.url, room, "Troll");
    await waitForInLog(mallory.page, "Troll joined");
    // The troll's message, deleted by the moderator from its menu, after a
    // confirmation: gone for everyone, and for the laptop, offline meanwhile,
    // once it is back (its resume brings the deletion).
    await say(troll.page, "buy cheap pills at spam.example");
    for (const each of [olu, mallory, laptop]) await waitForInLog(each.page, "buy cheap pills at spam.example");
    await dropConnection(laptop);
    await mallory.page.getByRole("button", { name: /^Actions for Troll's message at / }).click();
    const menu = mallory.page.getByRole("dialog", { name: "Message from Troll" });
    await menu.getByText("buy cheap pills at spam.example").waitFor();
    expect(await accessibilityViolations(mallory.page), "WCAG 2.1 AA violations: a message's menu").toEqual([]);
    await menu.getByRole("button", { name: "Delete…" }).click();
    const confirm = mallory.page.getByRole("dialog", { name: "Are you sure?" });
    await confirm.getByText("Delete Troll's message for everyone?").waitFor();
    // Cancel has the focus: Enter or Escape deletes nothing.
    expect(await mallory.page.evaluate("document.activeElement?.textContent")).toBe("Cancel");
    expect(await accessibilityViolations(mallory.page), "WCAG 2.1 AA violations: the confirmation").toEqual([]);
    await confirm.getByRole("button", { name: "Delete" }).click();
    for (const each of [olu, mallory, troll]) {
      await each.page.locator("#messages .tombstone", { hasText: "Message deleted by Mallory" }).waitFor();
      expect(await countInLog(each.page, "buy cheap pills")).toBe(0);
    }
    // Focus is back on the list (the menu's button went with the message).
    expect(await mallory.page.evaluate("document.activeElement?.id")).toBe("messages");
    // Back online: the page retries at once (the browser's "online" event).
    await laptop.context.setOffline(false);
    await laptop.page
      .locator("#messages .tombstone", { hasText: "Message deleted by Mallory" })
      .waitFor({ timeout: 40_000 });
    expect(await countInLog(laptop.page, "buy cheap pills")).toBe(0);
    // Members delete their own messages only: no Delete on someone else's.
    await say(olu.page, "owner's words");
    await waitForInLog(troll.page, "owner's words");
    await troll.page.getByRole("button", { name: /^Actions for Olu's message at / }).click();
    const trollMenu = troll.page.getByRole("dialog", { name: "Message from Olu" });
    await trollMenu.waitFor();
    expect(await trollMenu.getByRole("button", { name: "Delete…" }).isHidden()).toBe(true);
    await trollMenu.getByRole("button", { name: "Close" }).click();

    // A moderator may act on members only: a button for Troll, none for the owners.
    await mallory.page.getByRole("button", { name: "Moderate Troll" }).waitFor();
    expect(await mallory.page.getByRole("button", { name: /^Moderate Olu/ }).count()).toBe(0);
    await mallory.page.getByRole("button", { name: "Moderate Troll" }).click();
    const dialog = mallory.page.getByRole("dialog", { name: "Troll" });
    await dialog.waitFor();
    expect(await dialog.getByRole("button", { name: "Make moderator" }).isHidden()).toBe(true);
    await dialog.getByLabel(/^Reason/).fill("trolling");
    expect(await accessibilityViolations(mallory.page), "WCAG 2.1 AA violations: the moderation dialog").toEqual([]);
    await dialog.getByLabel("Ban for").selectOption({ label: "1 hour" });
    await dialog.getByRole("button", { name: "Ban" }).click();
    await dialog.waitFor({ state: "hidden" });
    await troll.page
      .locator("#notice", { hasText: /^Mallory banned you from this room until .+: trolling\.$/ })
      .waitFor();
    await troll.page.locator("#status[data-state=offline]").waitFor();
    await waitForInLog(olu.page, "Mallory banned Troll until");
    // Focus is back on the roster after the dialog.
    expect(await mallory.page.evaluate("document.activeElement?.closest('#roster') !== null")).toBe(true);
    expect(await accessibilityViolations(troll.page), "WCAG 2.1 AA violations: banned").toEqual([]);
    // A new identity from the banned address: told that someone on its
    // network was banned (it is not the troll, as far as the room knows).
    await troll.page.reload();
    await submitNick(troll.page, "Not A Troll");
    await troll.page
      .locator("#nick-error", { hasText: "Someone using your network (your address) was removed" })
      .waitFor();

    // The settings dialog: lock and slow mode saved for everyone; the ban listed, and lifted.
    await olu.page.getByRole("button", { name: "Room settings" }).click();
    const settings = olu.page.getByRole("dialog", { name: "Room settings" });
    await settings.getByRole("button", { name: "Unban Troll" }).waitFor();
    await settings.getByText(/Mallory banned Troll until .+: trolling/).waitFor();
    expect(await accessibilityViolations(olu.page), "WCAG 2.1 AA violations: room settings").toEqual([]);
    await settings.getByRole("checkbox", { name: /Locked/ }).check();
    await settings.getByRole("combobox", { name: /Slow mode/ }).selectOption({ label: "One message per 5 minutes" });
    await settings.getByRole("button", { name: "Unban Troll" }).click();
    await settings.getByText("No bans in force.").waitFor();
    await settings.getByRole("button", { name: "Save" }).click();
    await settings.waitFor({ state: "hidden" });
    await waitForInLog(mallory.page, "Olu locked the room: only people who have been here can join");
    await waitForInLog(mallory.page, "Olu turned slow mode on: one message every 300 s");
    // Members see no settings button.
    expect(await troll.page.getByRole("button", { name: "Room settings" }).count()).toBe(0);

    // A new owner key: the other owner identity (the laptop) is a member again, and the link changes.
    await olu.page.getByRole("button", { name: "New owner key" }).click();
    await olu.page
      .getByRole("dialog", { name: "Are you sure?" })
      .getByRole("button", { name: "Replace the key" })
      .click();
    await olu.page.locator("#notice", { hasText: "The owner key is new" }).waitFor();
    await waitForInLog(laptop.page, "Olu made you a member again");
    const newKey = await olu.page.evaluate<string>(`localStorage.getItem("edge-chat:owner-key:${room}")`);
    expect(newKey).toMatch(/^[a-z2-7]{32}$/);
    expect(newKey).not.toBe(key);
    expect(await laptop.page.locator("#ownership").isHidden()).toBe(true);

    // A member now, the laptop is slowed down: one message, then the room's reason on the next.
    await say(laptop.page, "first, slowly");
    await waitForInLog(olu.page, "first, slowly");
    await say(laptop.page, "second, too soon");
    await entryWith(laptop.page, "second, too soon")
      .locator(".delivery", { hasText: /Slow mode: one message every 300 s/ })
      .waitFor();
    expect(await countInLog(olu.page, "second, too soon")).toBe(0);

    // Kicked by the moderator from the roster: told, and everyone sees it.
    await mallory.page.getByRole("button", { name: "Moderate Olu on the laptop" }).click();
    const kickDialog = mallory.page.getByRole("dialog", { name: "Olu on the laptop" });
    await kickDialog.getByLabel(/^Reason/).fill("too many devices");
    await kickDialog.getByRole("button", { name: "Kick" }).click();
    await laptop.page
      .locator("#notice", {
        hasText: /^Mallory removed you from this room: too many devices\. You can come back after .+\.$/,
      })
      .waitFor();
    // The page stops: no composer to write in, the reason where it was.
    const composer = laptop.page.locator("#text");
    expect(await composer.isDisabled()).toBe(true);
    expect(await composer.getAttribute("placeholder")).toMatch(
      /^Mallory removed you from this room: too many devices\./,
    );
    expect(await laptop.page.locator("#send-button").isDisabled()).toBe(true);
    await waitForInLog(olu.page, "Mallory removed Olu on the laptop: too many devices");
    await waitForInLog(mallory.page, "Mallory removed Olu on the laptop: too many devices");
  });
});

describe("the landing page", () => {
  it("joins a room by name, and creates a private room", async () => {
    const visitor = await person("visitor");
    await visitor.page.goto(`${server.url}/`);
    const roomField = visitor.page.getByLabel("Room name");

    await roomField.fill("not a room!");
    await roomField.press("Enter");
    await visitor.page.locator("#room-error").waitFor({ state: "visible" });
    expect(visitor.page.url()).toBe(`${server.url}/`);

    await roomField.fill("Landing-Test");
    await Promise.all([visitor.page.waitForURL(`${server.url}/r/landing-test`), roomField.press("Enter")]);
    expect(await visitor.page.locator("#room-name").textContent()).toBe("#landing-test");
    await submitNick(visitor.page, "Visitor");
    await visitor.page.locator("#chat-view").waitFor({ state: "visible" });

    await visitor.page.goto(`${server.url}/`);
    // The room just visited is offered again.
    await visitor.page.getByRole("link", { name: "landing-test" }).waitFor();
    await Promise.all([
      visitor.page.waitForURL(/\/r\/[a-z2-7]{26}$/),
      visitor.page.getByRole("button", { name: "Create a private room" }).click(),
    ]);
    const room = new URL(visitor.page.url()).pathname.slice("/r/".length);
    expect(room).toMatch(/^[a-z2-7]{26}$/);
    expect(await visitor.page.locator("#room-name").textContent()).toBe(`#${room}`);
    await visitor.page.locator("#join-view").waitFor({ state: "visible" });
  });

  it("loads every page without console errors or CSP violations", async () => {
    const visitor = await person("visitor");
    // Every page of the app (the error answers for bad addresses are not
    // pages: Chromium logs their status as a console error by design).
    for (const path of ["/", "/r/quiet", "/r/Quiet"]) {
      await visitor.page.goto(`${server.url}${path}`);
      await visitor.page.waitForLoadState("load");
    }
    expect(visitor.page.url()).toBe(`${server.url}/r/quiet`);
    await joinRoom(visitor, server.url, "quiet", "Quiet");
    await say(visitor.page, "nothing to complain about");
    await waitForInLog(visitor.page, "nothing to complain about");
    // The checks themselves are afterEach's, as for every test.
  });
});
