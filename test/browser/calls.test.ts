/**
 * Calls in real Chromium: every person in a browser context of their own
 * (a background tab in a shared context stops rendering video), fake camera
 * and microphone, a real `wrangler dev` relaying the signalling, and no STUN
 * server at all (ICE_SERVERS=[]): two browsers on one machine connect over
 * loopback. What flows is read with getStats() from every RTCPeerConnection
 * the page made (an init script keeps a list of them).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chromium, type Browser, type Page } from "playwright-core";
import type { DevServer } from "../e2e/wrangler-dev";
import { openRoom, startDevServer } from "../e2e/wrangler-dev";
import {
  CHROME_FLAGS,
  DESKTOP,
  WAIT_MS,
  eventually,
  findChrome,
  joinRoom,
  peoplePerTest,
  say,
  shoot,
  stopServer,
  waitForInLog,
  accessibilityViolations,
  type Person,
} from "./harness";

/** Fake media, and loopback candidates (on a machine whose only interface is loopback). */
const MEDIA_FLAGS = [
  "--use-fake-device-for-media-stream",
  "--use-fake-ui-for-media-stream",
  "--allow-loopback-in-peer-connection",
];

let server: DevServer;
let browser: Browser;
const person = peoplePerTest(() => browser);

beforeAll(async () => {
  const [started, launched] = await Promise.all([
    startDevServer({ vars: { ICE_SERVERS: "[]" } }),
    chromium.launch({ executablePath: findChrome(), args: [...CHROME_FLAGS, ...MEDIA_FLAGS], timeout: 30_000 }),
  ]);
  server = started;
  browser = launched;
}, 90_000);

afterAll(async () => {
  await browser?.close();
  await stopServer(server);
});

/** Keeps every RTCPeerConnection the page makes in window.__pcs, for
 * getStats(), and every WebSocket in window.__sockets, to break one. */
const CAPTURE_CONNECTIONS = `(() => {
  const Native = window.RTCPeerConnection;
  window.__pcs = [];
  window.RTCPeerConnection = class extends Native {
    constructor(...args) { super(...args); window.__pcs.push(this); }
  };
  const NativeSocket = window.WebSocket;
  window.__sockets = [];
  window.WebSocket = class extends NativeSocket {
    constructor(...args) { super(...args); window.__sockets.push(this); }
  };
})();`;

/** Someone in `room`, in a browser context of their own, with their connections watched. */
async function caller(name: string, room: string, options = DESKTOP): Promise<Person> {
  const someone = await person(name.toLowerCase(), options);
  await someone.context.addInitScript({ content: CAPTURE_CONNECTIONS });
  await joinRoom(someone, server.url, room, name);
  return someone;
}

/** What one connection carries, from getStats(). */
interface Leg {
  state: string;
  videoFramesIn: number;
  audioPacketsIn: number;
  videoFramesOut: number;
  audioPacketsOut: number;
}

/** The page's open connections (closed ones are left out). */
const legs = (page: Page): Promise<Leg[]> =>
  page.evaluate<Leg[]>(`(async () => {
    const out = [];
    for (const pc of window.__pcs) {
      if (pc.connectionState === "closed") continue;
      const leg = { state: pc.connectionState, videoFramesIn: 0, audioPacketsIn: 0, videoFramesOut: 0, audioPacketsOut: 0 };
      (await pc.getStats()).forEach((s) => {
        if (s.type === "inbound-rtp" && s.kind === "video") leg.videoFramesIn += s.framesDecoded ?? 0;
        if (s.type === "inbound-rtp" && s.kind === "audio") leg.audioPacketsIn += s.packetsReceived ?? 0;
        if (s.type === "outbound-rtp" && s.kind === "video") leg.videoFramesOut += s.framesEncoded ?? 0;
        if (s.type === "outbound-rtp" && s.kind === "audio") leg.audioPacketsOut += s.packetsSent ?? 0;
      });
      out.push(leg);
    }
    return out;
  })()`);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits until the page has `count` connected legs, each receiving audio (and video when asked). */
async function flowing(page: Page, count: number, video: boolean): Promise<Leg[]> {
  const ready = (found: Leg[]) =>
    found.length === count &&
    found.every((leg) => leg.state === "connected" && leg.audioPacketsIn > 0 && (!video || leg.videoFramesIn > 0));
  const found = await eventually(() => legs(page), ready, 20_000);
  expect(found, "every leg connected and receiving").toSatisfy(ready);
  return found;
}

/**
 * `read` grows on every leg from now on (within 15 s), or, with grow false,
 * comes to a stop: it stays put for 1.5 s, at some point within 15 s. Bounded
 * waits, not a fixed moment: a busy machine encodes and sends late, and what
 * was in flight when a track stopped may still arrive.
 */
async function changes(page: Page, read: (leg: Leg) => number, grow: boolean): Promise<void> {
  const deadline = Date.now() + 15_000;
  let before = (await legs(page)).map(read);
  for (;;) {
    await sleep(grow ? 250 : 1500);
    const after = (await legs(page)).map(read);
    expect(after).toHaveLength(before.length);
    const done = grow ? after.every((value, i) => value > before[i]!) : after.every((value, i) => value === before[i]);
    if (done || Date.now() > deadline) {
      for (const [i, value] of after.entries()) {
        if (grow) expect(value, `leg ${i}`).toBeGreaterThan(before[i]!);
        else expect(value, `leg ${i}`).toBe(before[i]);
      }
      return;
    }
    if (!grow) before = after; // still moving: measure the next stretch
  }
}

/** Ana and Ben in a call in `room`, Ana's camera on and her video reaching Ben. */
async function anaOnCameraWithBen(room: string): Promise<{ ana: Person; ben: Person }> {
  const ana = await caller("Ana", room);
  const ben = await caller("Ben", room);
  await ana.page.getByRole("button", { name: "Start a call" }).click();
  await ben.page.getByRole("button", { name: "Join call (1)" }).click();
  await ana.page.getByRole("button", { name: "Camera on" }).click();
  await flowing(ben.page, 1, true);
  return { ana, ben };
}

/** From now on, the page records whose tile gets the speaking ring (it comes and goes with each beep). */
const watchSpeaking = (page: Page) =>
  page.evaluate(`(() => {
    window.__speakers?.observer.disconnect();
    const seen = new Set();
    const observer = new MutationObserver((changes) => {
      for (const change of changes) if (change.target.classList.contains("speaking")) seen.add(change.target.dataset.user);
    });
    observer.observe(document.querySelector("#call-grid"), { subtree: true, attributes: true, attributeFilter: ["class"] });
    window.__speakers = { observer, seen };
  })()`);
const speakers = (page: Page) => page.evaluate<string[]>("[...window.__speakers.seen]");
/** The user id on the one tile that is not the page's own. */
const otherTileUser = async (page: Page) =>
  (await page.locator("#call-grid .tile:not(.local)").getAttribute("data-user")) ?? "";

const tileNames = (page: Page) => page.locator("#call-grid .tile .tile-name").allTextContents();

describe("calls in the browser", () => {
  it("connects two people with no STUN server, and sound and video flow both ways", async () => {
    const ana = await caller("Ana", "two-way");
    const ben = await caller("Ben", "two-way");
    await ana.page.getByRole("button", { name: "Start a call" }).click();
    await ana.page.locator("#call-panel").waitFor({ state: "visible" });
    await ben.page.getByRole("button", { name: "Join call (1)" }).click();
    await ana.page.getByRole("button", { name: "Camera on" }).click();
    await ben.page.getByRole("button", { name: "Camera on" }).click();
    for (const page of [ana.page, ben.page]) {
      await flowing(page, 1, true);
      await changes(page, (leg) => leg.videoFramesIn, true);
      await changes(page, (leg) => leg.audioPacketsIn, true);
      expect(await tileNames(page)).toHaveLength(2);
    }
    expect(await tileNames(ana.page)).toEqual(["Ana (you)", "Ben"]);
    // The other's tile shows their video; the roster marks both as in the call with a camera.
    await eventually(
      () => ana.page.locator("#call-grid .tile.video-on").count(),
      (n) => n === 2,
    );
    expect(await ana.page.locator("#roster-list li").allTextContents()).toEqual(["Ana (you) 🎙 📷", "Ben 🎙 📷"]);
    expect(await accessibilityViolations(ana.page), "WCAG 2.1 AA violations: in a video call").toEqual([]);
    // The chat goes on during the call.
    await say(ben.page, "can you hear me?");
    await waitForInLog(ana.page, "can you hear me?");
    await waitForInLog(ana.page, "Ben joined the call");
  }, 60_000);

  it("mute stops the outgoing audio packets, and camera off stops the video frames", async () => {
    const { ana, ben } = await anaOnCameraWithBen("mute-camera");
    await flowing(ana.page, 1, false);

    // Ben sees Ana speaking: the fake microphone beeps, and her tile gets the ring.
    await watchSpeaking(ben.page);
    const anaId = await otherTileUser(ben.page);
    expect(
      await eventually(
        () => speakers(ben.page),
        (ids) => ids.includes(anaId),
        10_000,
      ),
      "Ana's tile rang",
    ).toContain(anaId);

    await ana.page.getByRole("button", { name: "Mute" }).click();
    await sleep(500); // what was on its way arrives
    await watchSpeaking(ben.page);
    await changes(ana.page, (leg) => leg.audioPacketsOut, false);
    await changes(ben.page, (leg) => leg.audioPacketsIn, false);
    await ben.page.locator('#call-grid .tile[aria-label="Ana, muted"]').waitFor();
    expect(await ben.page.locator("#roster-list li", { hasText: "Ana" }).textContent()).toContain("🔇");
    expect(await speakers(ben.page), "no ring for Ana while she is muted").not.toContain(anaId);
    await ana.page.getByRole("button", { name: "Unmute" }).click();
    await changes(ana.page, (leg) => leg.audioPacketsOut, true);

    await ana.page.getByRole("button", { name: "Camera off" }).click();
    await sleep(500);
    await changes(ben.page, (leg) => leg.videoFramesIn, false);
    // Ben sees Ana's avatar again, not a frozen picture.
    await eventually(
      () => ben.page.locator(`#call-grid .tile.video-on`).count(),
      (n) => n === 0,
    );
    expect(await ben.page.locator("#call-grid .tile:not(.local) .avatar").textContent()).toBe("A");
    expect(await accessibilityViolations(ben.page), "WCAG 2.1 AA violations: an avatar tile").toEqual([]);
    await ana.page.getByRole("button", { name: "Camera on" }).click();
    await changes(ben.page, (leg) => leg.videoFramesIn, true);
  }, 60_000);

  it("takes a third person: every leg connects and carries media; a leaver's tile goes for the others", async () => {
    const ana = await caller("Ana", "three-way");
    const ben = await caller("Ben", "three-way");
    const cy = await caller("Cy", "three-way");
    await ana.page.getByRole("button", { name: "Start a call" }).click();
    await ben.page.getByRole("button", { name: "Join call (1)" }).click();
    await ben.page.locator("#call-panel").waitFor({ state: "visible" });
    await cy.page.getByRole("button", { name: "Join call (2)" }).click();
    for (const page of [ana.page, ben.page, cy.page]) await page.getByRole("button", { name: "Camera on" }).click();
    for (const page of [ana.page, ben.page, cy.page]) {
      await flowing(page, 2, true);
      await changes(page, (leg) => leg.videoFramesIn, true);
    }
    expect((await tileNames(cy.page)).sort()).toEqual(["Ana", "Ben", "Cy (you)"]);

    // Cy leaves the call with the button: gone for the others at once.
    await cy.page.getByRole("button", { name: "Leave call" }).click();
    for (const page of [ana.page, ben.page]) {
      await eventually(
        () => tileNames(page),
        (names) => names.length === 2,
        5000,
      );
      expect((await tileNames(page)).sort()).toEqual(page === ana.page ? ["Ana (you)", "Ben"] : ["Ana", "Ben (you)"]);
    }
    expect(await cy.page.locator("#call-panel").isHidden()).toBe(true);
    // Her own roster says so too: no call badge left on her name.
    await expect
      .poll(() => cy.page.locator("#roster-list li", { hasText: "Cy" }).locator(".in-call").count(), { timeout: 5000 })
      .toBe(0);
    // Ben closes his tab: gone for Ana within seconds.
    await ben.page.close();
    const names = await eventually(
      () => tileNames(ana.page),
      (list) => list.length === 1,
      5000,
    );
    expect(names).toEqual(["Ana (you)"]);
  }, 90_000);

  it("survives a dropped signalling connection: the socket resumes, the media never stops, nothing is renegotiated", async () => {
    const { ana, ben } = await anaOnCameraWithBen("resume");
    // Ben's WebSocket breaks (as on a network change): Ana sees him leave the room…
    await ben.page.evaluate(`window.__sockets.at(-1).close(4000, "network change")`);
    await waitForInLog(ana.page, "Ben left");
    // …but his tile stays, all along, while their media still flows, and he comes back.
    const tilesSeen: number[] = [];
    for (let i = 0; i < 30; i++) {
      tilesSeen.push((await tileNames(ana.page)).length);
      await sleep(100);
    }
    expect(Math.min(...tilesSeen), "Ben's tile never went").toBe(2);
    await ben.page.locator("#status", { hasText: "Online" }).waitFor({ timeout: 15_000 });
    await eventually(
      () => ana.page.locator('#call-grid .tile[aria-label="Ben"]').count(),
      (n) => n === 1,
      10_000,
    );
    for (const page of [ana.page, ben.page]) {
      expect(await page.evaluate<number>("window.__pcs.length"), "still the first connection").toBe(1);
      await flowing(page, 1, false);
    }
    await changes(ben.page, (leg) => leg.videoFramesIn, true);
    expect(await tileNames(ana.page)).toEqual(["Ana (you)", "Ben"]);
    // Signalling works again: Ben mutes, Ana sees it.
    await ben.page.getByRole("button", { name: "Mute" }).click();
    await ana.page.locator('#call-grid .tile[aria-label="Ben, muted"]').waitFor();
  }, 60_000);

  it("resolves offers made at the same moment on both sides (perfect negotiation) without losing the call", async () => {
    const { ana, ben } = await anaOnCameraWithBen("glare");
    await flowing(ana.page, 1, false);
    // Both restart ICE at once: each makes an offer while the other's is on its way.
    await Promise.all([
      ana.page.evaluate("window.__pcs[0].restartIce()"),
      ben.page.evaluate("window.__pcs[0].restartIce()"),
    ]);
    for (const page of [ana.page, ben.page]) {
      const settled = await eventually(
        () => page.evaluate<string>(`window.__pcs[0].signalingState + " " + window.__pcs[0].connectionState`),
        (value) => value === "stable connected",
        10_000,
      );
      expect(settled).toBe("stable connected");
      expect(await page.evaluate<number>("window.__pcs.length")).toBe(1);
    }
    await changes(ben.page, (leg) => leg.videoFramesIn, true);
    await changes(ana.page, (leg) => leg.audioPacketsIn, true);
  }, 60_000);

  it("refuses a signal to someone who is not in the call", async () => {
    const ana = await caller("Ana", "refusals");
    await ana.page.getByRole("button", { name: "Start a call" }).click();
    await ana.page.locator("#call-panel").waitFor({ state: "visible" });
    const outsider = await openRoom(server, "refusals");
    const welcome = await outsider.joinAs("Outsider");
    const anaId = welcome.users.find((user) => user.nick === "Ana")!.id;
    // Not in the call yourself…
    outsider.send({ type: "signal", to: anaId, data: { description: { type: "offer", sdp: "v=0\r\n" } } });
    expect(await outsider.expect("error")).toMatchObject({ code: "not_in_call" });
    // …or to someone who is not.
    outsider.send({ type: "call", state: { audio: true, video: false } });
    await outsider.expect("call");
    outsider.send({ type: "signal", to: welcome.you.id, data: { candidate: null } });
    expect(await outsider.expect("error")).toMatchObject({ code: "not_in_call" });
    outsider.send({ type: "signal", to: "no-such-user", data: {} });
    expect(await outsider.expect("error")).toMatchObject({ code: "not_in_call" });
    outsider.close();
  }, 60_000);

  it("explains a refused microphone in plain words", async () => {
    const ana = await person("ana");
    await ana.context.addInitScript({
      content: `navigator.mediaDevices.getUserMedia = () => Promise.reject(new DOMException("Permission denied", "NotAllowedError"));`,
    });
    await joinRoom(ana, server.url, "denied", "Ana");
    await ana.page.getByRole("button", { name: "Start a call" }).click();
    await ana.page.locator("#notice").waitFor({ state: "visible", timeout: WAIT_MS });
    expect(await ana.page.locator("#notice").textContent()).toBe(
      "The browser did not allow the microphone. Allow it for this site (the icon in the address bar), then try again.",
    );
    expect(await ana.page.locator("#call-panel").isHidden()).toBe(true);
  }, 60_000);

  it("a three-way video call, for the README (light and dark)", async () => {
    for (const scheme of ["light", "dark"] as const) {
      const room = `video-${scheme}`;
      const ana = await caller("Ana", room, { ...DESKTOP, colorScheme: scheme });
      const ben = await caller("Ben", room, { ...DESKTOP, colorScheme: scheme });
      const cy = await caller("Cy", room, { ...DESKTOP, colorScheme: scheme });
      await ana.page.getByRole("button", { name: "Start a call" }).click();
      await ben.page.getByRole("button", { name: "Join call (1)" }).click();
      await ben.page.locator("#call-panel").waitFor({ state: "visible" });
      await cy.page.getByRole("button", { name: "Join call (2)" }).click();
      await ana.page.getByRole("button", { name: "Camera on" }).click();
      await ben.page.getByRole("button", { name: "Camera on" }).click();
      await flowing(ana.page, 2, false);
      await eventually(
        () => ana.page.locator("#call-grid .tile.video-on").count(),
        (n) => n === 2,
      );
      await say(cy.page, "No camera here, I'm on the train 🚆");
      await say(ben.page, "We can hear you fine!");
      await waitForInLog(ana.page, "We can hear you fine!");
      await ana.page.locator("#text").blur();
      await sleep(500); // a few more frames of the fake camera
      await shoot(ana.page, `call-${scheme}`, 1280, 800);
      for (const someone of [ana, ben, cy]) await someone.page.getByRole("button", { name: "Leave call" }).click();
    }
  }, 90_000);
});
