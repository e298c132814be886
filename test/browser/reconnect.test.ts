/**
 * The server goes away and comes back, with two people in a room: `wrangler
 * dev` is stopped and started again on the same port and state directory, as
 * after a deploy or a crash. Messages written meanwhile wait in the page
 * (shown as pending) and go out once it is back; nobody misses or sees twice
 * a message, whoever sent it and whenever.
 *
 * This file has its own server, since it stops it.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Browser } from "playwright-core";
import { newStateDir, openRoom, startDevServer, type DevServer } from "../e2e/wrangler-dev";
import {
  countInLog,
  deliveryState,
  eventually,
  joinRoom,
  logEntries,
  peoplePerTest,
  say,
  startServerAndBrowser,
  stopServer,
  statusLine,
  waitForInLog,
  type Person,
} from "./harness";

const stateDir = newStateDir();
let server: DevServer;
let browser: Browser;

/** What Chromium logs for every connection attempt while the server is down. */
const OUTAGE_NOISE = /^console error: WebSocket connection to 'ws:\/\/127\.0\.0\.1:\d+\/api\/rooms\/[^']+' failed/;

const person = peoplePerTest(() => browser, OUTAGE_NOISE);

beforeAll(async () => {
  ({ server, browser } = await startServerAndBrowser({ stateDir }));
}, 90_000);

afterAll(async () => {
  await browser?.close();
  await stopServer(server);
});

/** The messages of `texts` in the order the page shows them. */
async function shownOrder(person: Person, texts: string[]): Promise<string[]> {
  const entries = await logEntries(person.page);
  return entries.flatMap((entry) => texts.filter((text) => entry.includes(text)));
}

/** Waits until the page shows `text` and no longer as pending: the room has it. */
async function waitUntilStored(person: Person, text: string, timeout = 15_000): Promise<void> {
  const state = await eventually(
    () => deliveryState(person.page, text),
    (value) => value !== "absent" && value !== "pending",
    timeout,
  );
  expect(state, `"${text}" on ${person.name}'s page once the room has it`).not.toBe("absent");
  expect(state, `"${text}" on ${person.name}'s page once the room has it`).not.toBe("pending");
}

describe("a server restart", () => {
  it("delivers what was written during the outage exactly once, and misses nothing", async () => {
    const alice = await person("alice");
    const bob = await person("bob");
    await joinRoom(alice, server.url, "outage", "Alice");
    await joinRoom(bob, server.url, "outage", "Bob");
    const before = "Before the outage";
    await say(alice.page, before);
    await waitForInLog(bob.page, before);

    // --- the server goes away ---------------------------------------------------
    const port = server.port;
    await server.stop();
    for (const person of [alice, bob]) await person.page.locator("#status[data-state=reconnecting]").waitFor();
    // The status says when the next try is, and offers one now.
    const countdown = await eventually(
      () => statusLine(bob.page).textContent(),
      (text) => /Reconnecting in \d+\s*s/.test(text ?? ""),
      5_000,
    );
    expect.soft(countdown, "Bob's status while the server is down").toMatch(/Reconnecting in \d+\s*s/);
    const retryNow = bob.page.getByRole("button", { name: "Retry now" });
    expect.soft(await retryNow.isVisible(), "a visible Retry now button while reconnecting").toBe(true);

    // Both write while it is down: their messages show as pending.
    const aliceDown = "Alice, written while the server was down";
    const bobDown = "Bob, written while the server was down";
    await say(alice.page, aliceDown);
    await say(bob.page, bobDown);
    for (const [person, text] of [
      [alice, aliceDown],
      [bob, bobDown],
    ] as const) {
      const state = await eventually(
        () => deliveryState(person.page, text),
        (value) => value === "pending",
        3_000,
      );
      expect.soft(state, `"${text}" on ${person.name}'s page while the server is down`).toBe("pending");
    }

    // --- it comes back; Alice's network is still out ------------------------------
    await alice.context.setOffline(true);
    server = await startDevServer({ stateDir, port });
    const bobOnline = bob.page.locator("#status[data-state=online]");
    if (await retryNow.isVisible()) {
      await retryNow.click();
      await bobOnline.waitFor({ timeout: 5_000 });
    } else {
      // The backoff tops out at 30 s (with jitter below it).
      await bobOnline.waitFor({ timeout: 40_000 });
    }
    await waitUntilStored(bob, bobDown);
    // Bob goes on talking while Alice is away.
    const bobAfter = ["Bob, after the restart (1)", "Bob, after the restart (2)"];
    for (const text of bobAfter) {
      await say(bob.page, text);
      await waitUntilStored(bob, text);
    }

    // --- Alice's network is back: the page reconnects at once ----------------------
    await alice.context.setOffline(false);
    await alice.page.locator("#status[data-state=online]").waitFor({ timeout: 40_000 });
    for (const text of bobAfter) await waitForInLog(alice.page, text, 15_000);
    await waitForInLog(bob.page, aliceDown, 15_000);

    // Two rounds of new messages: once both pages have them, every earlier
    // message (and any duplicate of one) has arrived on both.
    const aliceLast = "Alice again, all caught up?";
    await say(alice.page, aliceLast);
    await waitForInLog(bob.page, aliceLast);
    const bobLast = "Bob: all caught up.";
    await say(bob.page, bobLast);
    await waitForInLog(alice.page, bobLast);

    const all = [before, aliceDown, bobDown, ...bobAfter, aliceLast, bobLast];
    for (const person of [alice, bob]) {
      for (const text of all) expect(await countInLog(person.page, text), `"${text}" on ${person.name}'s page`).toBe(1);
    }
    // The same order on both pages, as the room stored them.
    const order = await shownOrder(alice, all);
    expect(await shownOrder(bob, all)).toEqual(order);
    expect(order.indexOf(before)).toBe(0);
    expect(order.slice(-2)).toEqual([aliceLast, bobLast]);
    expect(order.indexOf(bobAfter[0]!)).toBeLessThan(order.indexOf(bobAfter[1]!));
    // Own messages end up marked as sent.
    expect(await deliveryState(alice.page, aliceDown)).toBe("sent");
    expect(await deliveryState(bob.page, bobDown)).toBe("sent");
    // Whatever was written went out: nothing is left in the composers.
    expect(await alice.page.locator("#text").inputValue()).toBe("");
    expect(await bob.page.locator("#text").inputValue()).toBe("");
  }, 150_000);
});

describe("a resume that missed more than one answer holds", () => {
  it("starts the list again from the newest messages, and scrolling back reaches every one, in order", async () => {
    const alice = await person("alice");
    // The page's socket goes through the test, which can drop it and keep it
    // away for a while, as a train's tunnel does, while the room goes on.
    let away = false;
    const connections: { close(): Promise<void> }[] = [];
    await alice.page.routeWebSocket(/\/api\/rooms\/long-gap\/websocket$/, async (route) => {
      if (away) return route.close({ code: 4000, reason: "tunnel" });
      route.connectToServer();
      connections.push(route);
    });
    await joinRoom(alice, server.url, "long-gap", "Alice");
    const bob = await openRoom(server, "long-gap");
    bob.send({ type: "join", nick: "Bob" });
    await bob.expect("welcome");
    bob.send({ type: "message", text: "before the tunnel" });
    await waitForInLog(alice.page, "before the tunnel");

    away = true;
    await Promise.all(connections.map((connection) => connection.close()));
    await alice.page.locator("#status[data-state=reconnecting]").waitFor();
    // 24 messages of ~16 KB: 380 KB, more than one welcome may carry (256 KiB).
    const texts = Array.from({ length: 24 }, (_, i) => `long ${String(i).padStart(2, "0")} ${"😀".repeat(3990)}`);
    const senders = [bob];
    for (let i = 1; i < 3; i++) {
      const sender = await openRoom(server, "long-gap");
      sender.send({ type: "join", nick: `Sender${i}` });
      await sender.expect("welcome");
      senders.push(sender);
    }
    for (const [i, text] of texts.entries()) senders[Math.floor(i / 8)]!.send({ type: "message", text });
    // The room's order (three senders at once): as Bob receives it.
    const roomOrder: string[] = [];
    while (roomOrder.length < 24) {
      const frame = await bob.next(10_000);
      if (frame.type === "message") roomOrder.push(frame.text.slice(0, 7));
    }
    away = false;
    await alice.page.getByRole("button", { name: "Retry now" }).click();
    await alice.page.locator("#status[data-state=online]").waitFor({ timeout: 30_000 });

    // The newest are shown, with a notice; the older ones come with "Load older messages".
    await waitForInLog(alice.page, "long 23");
    await waitForInLog(alice.page, "scroll up for the rest");
    expect(await countInLog(alice.page, "long 00")).toBe(0);
    const older = alice.page.getByRole("button", { name: "Load older messages" });
    for (let i = 0; i < 10 && (await countInLog(alice.page, "before the tunnel")) === 0; i++) {
      await older.click();
      await alice.page.waitForTimeout(200);
    }
    const order = await shownOrder(alice, ["before the tunnel", ...roomOrder]);
    expect(order).toEqual(["before the tunnel", ...roomOrder]);
    for (const sender of senders) sender.close();
  }, 90_000);
});
