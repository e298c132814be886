/**
 * axe-core's WCAG 2.1 A and AA rules on every state of every page, on a
 * desktop and on a phone: the landing page (and its error), a room's join
 * form (and a taken nickname), the chat with messages, notices, the roster,
 * someone typing, an own message that failed (Retry, Discard), a notice
 * above the composer, the counter past 80 % and over the limit, the
 * reconnecting status, the page for a name that is not a room, and the 404;
 * in the light theme and the dark one, and every colour a name can have.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Browser, Page } from "playwright-core";
import type { DevServer } from "../e2e/wrangler-dev";
import {
  DESKTOP,
  MOBILE,
  accessibilityViolations,
  composer,
  entryWith,
  dropConnection,
  joinRoom,
  keepSockets,
  peoplePerTest,
  say,
  startServerAndBrowser,
  stopServer,
  submitNick,
  waitForInLog,
} from "./harness";

let server: DevServer;
let browser: Browser;

const person = peoplePerTest(() => browser, /WebSocket|ERR_CONNECTION_REFUSED|Failed to load resource/);

beforeAll(async () => {
  ({ server, browser } = await startServerAndBrowser());
}, 90_000);

afterAll(async () => {
  await browser?.close();
  await stopServer(server);
});

/** The page passes, in the state `state` names (for the failure message). */
async function passes(page: Page, state: string): Promise<void> {
  expect(await accessibilityViolations(page), `WCAG 2.1 AA violations: ${state}`).toEqual([]);
}

describe.each([
  ["desktop", DESKTOP],
  ["phone", MOBILE],
  ["desktop in the dark theme", { ...DESKTOP, colorScheme: "dark" }],
] as const)("accessibility on a %s", (device, options) => {
  it("the landing page, and its error for a name that is not a room", async () => {
    const visitor = await person("visitor", options);
    await visitor.page.goto(`${server.url}/`);
    await passes(visitor.page, "landing page");
    const field = visitor.page.locator("#room");
    await field.fill("not a room!");
    await field.press("Enter");
    await visitor.page.locator("[aria-invalid=true]").first().waitFor();
    await passes(visitor.page, "landing page, bad room name");
    await visitor.page.goto(`${server.url}/r/not.a.room`);
    await visitor.page.locator("#bad-room").waitFor();
    await passes(visitor.page, "not a room");
    await visitor.page.goto(`${server.url}/nowhere`);
    await passes(visitor.page, "page not found");
  });

  it("a room: joining, a taken nickname, and the chat in all its states", async () => {
    const room = `a11y-${device.replaceAll(" ", "-")}`;
    const ana = await person("ana", options);
    await joinRoom(ana, server.url, room, "Ana");
    const kartik = await person("kartik", options);
    // Keeps the page's sockets within reach, to cut the connection below.
    await keepSockets(kartik);
    await kartik.page.goto(`${server.url}/r/${room}`);
    await passes(kartik.page, "join form");
    await submitNick(kartik.page, "Ana");
    await kartik.page.locator("#nick-error").waitFor();
    await passes(kartik.page, "join form, nickname taken");
    await submitNick(kartik.page, "Kartik");
    await kartik.page.locator("#chat-view").waitFor();
    await waitForInLog(ana.page, "Kartik joined");

    // Someone typing (first: the room relays one notice per 2 s per person).
    await composer(ana.page).pressSequentially("still wri");
    await kartik.page.getByText("Ana is typing…").waitFor();
    await passes(kartik.page, "someone typing");
    // Messages, an action, a link.
    await say(ana.page, "hello https://example.com/a-link");
    await say(ana.page, "/me waves");
    await waitForInLog(kartik.page, "waves");
    await passes(kartik.page, "chat with messages, an action, a link");
    // A deleted message ("Message deleted" in its place), and a message's menu.
    await say(ana.page, "said in haste");
    await waitForInLog(kartik.page, "said in haste");
    await say(ana.page, "/delete");
    await kartik.page.locator("#messages .tombstone").waitFor();
    await passes(kartik.page, "a deleted message");
    await kartik.page
      .getByRole("button", { name: /^Actions for Ana's message at / })
      .first()
      .click();
    await kartik.page.getByRole("dialog", { name: "Message from Ana" }).waitFor();
    await passes(kartik.page, "a message's menu");
    await kartik.page.keyboard.press("Escape");

    // Replies, reactions, a mention, formatting; replying and editing in the composer; search.
    await say(ana.page, "*bold* _italic_ `code` for @Kartik");
    await waitForInLog(kartik.page, "for @Kartik");
    await entryWith(kartik.page, "for @Kartik").locator("button.more").click();
    await kartik.page.locator('#message-reactions [data-emoji="🎉"]').click();
    await entryWith(kartik.page, "for @Kartik").locator("button.reaction").waitFor();
    await entryWith(kartik.page, "for @Kartik").locator("button.more").click();
    await kartik.page.locator("#message-reply").click();
    await kartik.page.locator("#compose-mode").waitFor();
    await passes(kartik.page, "a mention, formatting, a reaction, replying");
    await say(kartik.page, "a reply");
    await entryWith(kartik.page, "a reply").locator(".reply-quote").waitFor();
    await composer(kartik.page).press("ArrowUp");
    await kartik.page.getByText("Editing your message").waitFor();
    await passes(kartik.page, "a reply, editing");
    await kartik.page.keyboard.press("Escape");
    await kartik.page.locator("#open-search").click();
    await kartik.page.locator("#search-query").fill("bold");
    await kartik.page.locator("#search-query").press("Enter");
    await kartik.page.locator("#search-results mark").waitFor();
    await passes(kartik.page, "search results");
    await kartik.page.locator("#search-close").click();

    // An own message that failed: the reason, Retry and Discard.
    await say(kartik.page, "gnp.exe\u202Eharmless");
    await entryWith(kartik.page, "harmless").locator("[data-do=retry]").waitFor();
    // A notice above the composer (help from a command).
    await say(kartik.page, "/help");
    await kartik.page.locator("#notice").waitFor();
    await passes(kartik.page, "a failed own message, a notice");

    // The counter, near the limit and over it.
    await composer(kartik.page).fill("x".repeat(3500));
    await kartik.page.locator("#counter").waitFor();
    await passes(kartik.page, "counter near the limit");
    await composer(kartik.page).fill("x".repeat(4100));
    await kartik.page.locator("#counter[data-state=over]").waitFor();
    await passes(kartik.page, "counter over the limit");
    await composer(kartik.page).fill("");

    // The roster opened (on a phone it starts folded away).
    const roster = kartik.page.locator("#roster");
    if ((await roster.getAttribute("open")) === null) await roster.locator("summary").click();
    await passes(kartik.page, "roster open");
    // Names come in eight colours, picked by user id: all eight, in the roster.
    await kartik.page.evaluate(`for (let hue = 0; hue < 8; hue++) {
      const item = document.createElement("li");
      item.className = "hue-" + hue;
      item.textContent = "Colour " + hue;
      document.getElementById("roster-list").append(item);
    }`);
    await passes(kartik.page, "every name colour");

    // The connection drops and the network is gone: "Reconnecting in N s…" and "Retry now".
    await dropConnection(kartik);
    await passes(kartik.page, "reconnecting");
    await kartik.context.setOffline(false);
  });
});
