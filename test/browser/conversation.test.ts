/**
 * Issue 17 in a real browser: replies, reactions, edits, formatting,
 * search, mentions with a notification, the unread divider, and the
 * installable app opening offline. Two or three people, each in a browser
 * context of their own, against the real `wrangler dev`. The room sends a
 * joiner only its 5 newest messages and pages of 5, so that "the original is
 * out of the loaded history" takes a dozen messages, not hundreds.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Browser, Page } from "playwright-core";
import type { DevServer } from "../e2e/wrangler-dev";
import {
  WAIT_MS,
  composer,
  entryWith,
  joinRoom,
  messageLog,
  peoplePerTest,
  say,
  startServerAndBrowser,
  stopServer,
  submitNick,
  waitForInLog,
} from "./harness";

const POLL = { timeout: WAIT_MS };
let server: DevServer;
let browser: Browser;
// Going offline on purpose makes the page's reconnects (and the service worker's fetches) fail.
const person = peoplePerTest(() => browser, /ERR_INTERNET_DISCONNECTED|Failed to fetch|net::ERR_FAILED/);

beforeAll(async () => {
  ({ server, browser } = await startServerAndBrowser({
    vars: { HISTORY_ON_JOIN: "5", HISTORY_PAGE: "5", IP_RATE_LIMITS: "off" },
  }));
}, 90_000);

afterAll(async () => {
  await browser?.close();
  await stopServer(server);
});

/** A message of the log by its id. */
const message = (page: Page, id: number) => messageLog(page).locator(`li[data-id="${id}"]`);

/** Opens a message's ⋯ menu. */
async function openMenu(page: Page, id: number): Promise<void> {
  await message(page, id).hover();
  await message(page, id).locator("button.more").click();
  await page.locator("#message-dialog").waitFor({ state: "visible" });
}

describe("conversations in the browser", () => {
  it("replies, reacts and edits across two pages, with formatting drawn as elements", async () => {
    const alice = await person("alice");
    const bob = await person("bob");
    await joinRoom(alice, server.url, "talk", "Alice");
    await joinRoom(bob, server.url, "talk", "Bob");

    await say(alice.page, "Lunch at *noon*? `cafe` <b>maybe</b>");
    await waitForInLog(bob.page, "Lunch at noon?");
    expect(await message(bob.page, 1).locator(".text strong").textContent()).toBe("noon");
    expect(await message(bob.page, 1).locator(".text code").textContent()).toBe("cafe");
    expect(await message(bob.page, 1).locator(".text b").count()).toBe(0); // markup stays text

    // Bob answers from the menu: the quote is above his reply on both pages.
    await openMenu(bob.page, 1);
    await bob.page.locator("#message-reply").click();
    await expect.poll(() => bob.page.locator("#compose-mode-text").textContent(), POLL).toContain("Replying to Alice");
    await say(bob.page, "Yes, see you there");
    await waitForInLog(alice.page, "Yes, see you there");
    const quote = message(alice.page, 2).locator(".reply-quote");
    expect(await quote.textContent()).toBe("Alice: Lunch at *noon*? `cafe` <b>maybe</b>");
    await expect.poll(() => bob.page.locator("#compose-mode").isHidden(), POLL).toBe(true);

    // Bob reacts from the menu, Alice from the reaction itself: 👍 2 on both pages, pressed for each.
    await openMenu(bob.page, 1);
    await bob.page.locator('#message-reactions [data-emoji="👍"]').click();
    const thumbs = (page: Page) => message(page, 1).locator("button.reaction");
    await expect.poll(() => thumbs(alice.page).textContent(), POLL).toBe("👍 1");
    expect(await thumbs(alice.page).getAttribute("aria-pressed")).toBe("false");
    expect(await thumbs(alice.page).getAttribute("title")).toBe("👍 Bob");
    await thumbs(alice.page).click();
    for (const page of [alice.page, bob.page]) {
      await expect.poll(() => thumbs(page).textContent(), POLL).toBe("👍 2");
      expect(await thumbs(page).getAttribute("aria-pressed")).toBe("true");
    }
    // Any emoji, typed in the menu.
    await openMenu(alice.page, 2);
    await alice.page.locator("#message-emoji").fill("🦄");
    await alice.page.locator("#message-emoji").press("Enter");
    await expect.poll(() => message(bob.page, 2).locator("button.reaction").textContent(), POLL).toBe("🦄 1");

    // Up in the empty composer edits Alice's last message; Bob sees it, and his quote, change.
    await composer(alice.page).press("ArrowUp");
    expect(await composer(alice.page).inputValue()).toBe("Lunch at *noon*? `cafe` <b>maybe</b>");
    await composer(alice.page).fill("Lunch at *one*, not noon");
    await composer(alice.page).press("Enter");
    await waitForInLog(bob.page, "Lunch at one, not noon");
    expect(await message(bob.page, 1).textContent()).toContain("(edited)");
    await expect
      .poll(() => message(bob.page, 2).locator(".reply-quote").textContent(), POLL)
      .toBe("Alice: Lunch at *one*, not noon");
    // The reactions stay with the edited message.
    expect(await thumbs(bob.page).textContent()).toBe("👍 2");
  });

  it("jumps to an original out of the loaded history, and finds messages by search", async () => {
    const alice = await person("alice");
    await joinRoom(alice, server.url, "jump", "Alice");
    const fruit = ["apple", "banana", "cherry", "damson", "elder", "fig", "grape", "hazel", "kiwi", "lemon", "mango"];
    for (const [i, name] of fruit.entries()) await say(alice.page, `Note ${i + 1} about the ${name}`);
    await waitForInLog(alice.page, "about the mango");
    await say(alice.page, "/reply 1 back to the start");
    await waitForInLog(alice.page, "back to the start");

    // Bob gets the 5 newest: the reply, not what it answers.
    const bob = await person("bob");
    await joinRoom(bob, server.url, "jump", "Bob");
    await waitForInLog(bob.page, "back to the start");
    expect(await message(bob.page, 1).count()).toBe(0);
    await message(bob.page, 12).locator(".reply-quote").click();
    await expect.poll(() => message(bob.page, 1).isVisible(), POLL).toBe(true);
    await expect.poll(() => bob.page.evaluate('document.activeElement?.getAttribute("data-id")'), POLL).toBe("1");

    // Search: a word's start, marked in the results; Jump to brings the message.
    const carol = await person("carol");
    await joinRoom(carol, server.url, "jump", "Carol");
    await carol.page.locator("#open-search").click();
    await carol.page.locator("#search-query").fill("BANA");
    await carol.page.locator("#search-query").press("Enter");
    const results = carol.page.locator("#search-results li");
    await expect.poll(() => results.count(), POLL).toBe(1);
    expect(await results.locator("mark").textContent()).toBe("banana");
    await expect.poll(() => carol.page.locator("#search-status").textContent(), POLL).toBe("1 message found.");
    await results.getByRole("button", { name: /Jump to/ }).click();
    await expect.poll(() => message(carol.page, 2).isVisible(), POLL).toBe(true);
    expect(await carol.page.locator("#search-dialog").isVisible()).toBe(false);
    // A link to a message (⋯ → Copy link) opens the room there, however old.
    const dee = await person("dee");
    await dee.page.goto(`${server.url}/r/jump#m3`);
    await submitNick(dee.page, "Dee");
    await expect.poll(() => message(dee.page, 3).isVisible(), POLL).toBe(true);
    expect(await message(dee.page, 3).textContent()).toContain("about the cherry");
    // /search in the composer opens the same box.
    await say(carol.page, "/search note");
    await expect.poll(() => carol.page.locator("#search-status").textContent(), POLL).toBe("11 messages found.");
  });

  it("marks a mention, counts it in the title of a hidden tab, and notifies when allowed", async () => {
    const alice = await person("alice");
    await alice.context.grantPermissions(["notifications"], { origin: server.url });
    // The tab is in the background (headless Chromium shows every tab), and
    // each notification the page shows is noted as it is made.
    await alice.context.addInitScript({
      content: `Object.defineProperty(document, "hidden", { get: () => true });
        window.__notifications = [];
        window.Notification = class extends Notification {
          constructor(title, options) { super(title, options); window.__notifications.push({ title, body: options?.body }); }
        };`,
    });
    await joinRoom(alice, server.url, "mentions", "Alice");
    const bob = await person("bob");
    await joinRoom(bob, server.url, "mentions", "Bob");
    await say(bob.page, "hello everyone");
    await say(bob.page, "@alice could you look at this?");
    await waitForInLog(alice.page, "could you look at this?");
    expect(await entryWith(alice.page, "could you look").getAttribute("class")).toContain("mention");
    expect(await entryWith(alice.page, "hello everyone").getAttribute("class")).not.toContain("mention");
    await expect.poll(() => alice.page.title(), POLL).toBe("(2, 1 @) #mentions · edge-chat");
    expect(await alice.page.evaluate("window.__notifications")).toEqual([
      { title: "Bob mentioned you in #mentions", body: "@alice could you look at this?" },
    ]);
    // Bob's Tab completes a nickname after "@".
    await composer(bob.page).fill("thanks @al");
    await composer(bob.page).press("Tab");
    expect(await composer(bob.page).inputValue()).toBe("thanks @Alice ");
  });

  it("shows what is new since the last visit, with a button to it", async () => {
    const alice = await person("alice");
    const bob = await person("bob");
    await joinRoom(alice, server.url, "unread", "Alice");
    await joinRoom(bob, server.url, "unread", "Bob");
    await say(alice.page, "before you left");
    await waitForInLog(bob.page, "before you left");
    await bob.page.close();
    await say(alice.page, "while you were away");
    // Long enough (the room sends a joiner its 5 newest) to push the line out of view.
    for (let i = 1; i <= 2; i++) await say(alice.page, `news ${i}\n${"a line of it\n".repeat(12)}end`);
    await say(alice.page, "and this too");
    await waitForInLog(alice.page, "and this too");
    // Back on the same device: the divider is right before what is new.
    const page = await bob.context.newPage();
    await page.goto(`${server.url}/r/unread`);
    await submitNick(page, "Bob");
    await waitForInLog(page, "and this too");
    const entries = await messageLog(page).locator("li:not([hidden])").allTextContents();
    const divider = entries.indexOf("New since your last visit");
    expect(divider).toBeGreaterThan(0);
    expect(entries[divider + 1]).toContain("while you were away");
    expect(entries.slice(0, divider).join(" ")).toContain("before you left");
    // The page opens at the end; the line is above it, and the button brings it into view.
    const jump = page.locator("#jump-unread");
    await jump.waitFor({ state: "visible" });
    await jump.click();
    await expect.poll(() => page.locator("#unread").isVisible(), POLL).toBe(true);
    await expect.poll(() => jump.isHidden(), POLL).toBe(true);
    expect(
      await page.evaluate(
        'document.getElementById("unread").getBoundingClientRect().top >= document.getElementById("messages").getBoundingClientRect().top',
      ),
    ).toBe(true);
  });

  it("installs: the manifest and service worker load, and the room page opens offline", async () => {
    const alice = await person("alice");
    await alice.page.goto(`${server.url}/r/offline-room`);
    const manifest = await alice.page.evaluate(async () => {
      const link = (
        globalThis as unknown as { document: { querySelector(s: string): { href: string } | null } }
      ).document.querySelector('link[rel="manifest"]');
      return (await fetch(link?.href ?? "")).json();
    });
    expect(manifest).toMatchObject({ name: "edge-chat", display: "standalone", start_url: "/" });
    expect((manifest as { icons: { sizes: string }[] }).icons.map((icon) => icon.sizes)).toContain("512x512");
    for (const icon of ["/icon-192.png", "/icon-512.png"]) {
      const response = await alice.page.request.get(`${server.url}${icon}`);
      expect(response.headers()["content-type"], icon).toBe("image/png");
    }
    // The service worker is in control once it has installed (it keeps the pages' files).
    await alice.page.evaluate("navigator.serviceWorker.ready.then(() => undefined)");
    await alice.page.reload();
    await expect.poll(() => alice.page.evaluate("navigator.serviceWorker.controller !== null"), POLL).toBe(true);

    await alice.context.setOffline(true);
    await alice.page.goto(`${server.url}/r/another-room`);
    expect(await alice.page.locator("#room-name").textContent()).toBe("#another-room");
    await expect
      .poll(() => alice.page.locator("#status").textContent(), POLL)
      .toBe("Offline: what you write is sent when you are back");
    expect(await alice.page.locator("#status").isVisible()).toBe(true);
    // Joining waits for the network, and says so.
    await submitNick(alice.page, "Alice");
    await expect
      .poll(() => alice.page.locator("#nick-error").textContent(), POLL)
      .toBe("You are offline: join once you are back.");
    await alice.context.setOffline(false);
  });
});
