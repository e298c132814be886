/**
 * Limits per client address (the [[ratelimits]] bindings, emulated by the
 * test runtime): room creation and WebSocket upgrades get HTTP 429 with a
 * Retry-After, frames get `rate_limited`, in every room of that address.
 * vitest.config.ts lowers the limits to 3 rooms, 5 upgrades and 12 frames a
 * minute, and only requests with CF-Connecting-IP are counted.
 */
import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { IP_LIMIT_PERIOD_SECONDS, secondsUntilNextWindow, windowEnd } from "../src/worker/ip-rate-limit";
import { ORIGIN, TestSocket, freshRoom, texts, upgrade } from "./socket";

let addresses = 0;
/** An address of its own for each test (TEST-NET-3), so counts never carry over. */
const freshIp = () => `203.0.113.${++addresses}`;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The counters reset at each window's end; start well inside a window so none resets mid-test. */
async function freshWindow(): Promise<void> {
  const now = Date.now();
  if (windowEnd(now) - now < 5000) await sleep(windowEnd(now) - now + 50);
}

const createRoom = (ip?: string) =>
  exports.default.fetch(`${ORIGIN}/api/rooms`, {
    method: "POST",
    headers: ip === undefined ? {} : { "CF-Connecting-IP": ip },
  });

async function openFrom(ip: string, room: string, nick: string): Promise<TestSocket> {
  const socket = await TestSocket.open(room, { "CF-Connecting-IP": ip });
  await socket.joinAs(nick);
  return socket;
}

describe("the window", () => {
  it("gives a Retry-After from 1 s to the whole period", () => {
    const start = 1_700_000_040_000; // a window boundary
    expect(start % (IP_LIMIT_PERIOD_SECONDS * 1000)).toBe(0);
    expect(secondsUntilNextWindow(start)).toBe(IP_LIMIT_PERIOD_SECONDS);
    expect(secondsUntilNextWindow(start + 1)).toBe(IP_LIMIT_PERIOD_SECONDS);
    expect(secondsUntilNextWindow(start + 59_001)).toBe(1);
    expect(windowEnd(start + 59_999)).toBe(start + 60_000);
  });
});

describe("POST /api/rooms per address", () => {
  it("answers 429 with Retry-After once an address has created its quota of rooms", async () => {
    await freshWindow();
    const ip = freshIp();
    for (let i = 0; i < 3; i++) expect((await createRoom(ip)).status).toBe(201);
    const refused = await createRoom(ip);
    expect(refused.status).toBe(429);
    const retryAfter = Number(refused.headers.get("Retry-After"));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(secondsUntilNextWindow(Date.now()) + 1);
    expect(await refused.json()).toEqual({
      error: "rate_limited",
      message: expect.stringMatching(/new rooms.*try again in \d+ s/),
    });
    expect(refused.headers.get("X-Content-Type-Options")).toBe("nosniff");

    // Another address is not affected, nor are requests without an address.
    expect((await createRoom(freshIp())).status).toBe(201);
    for (let i = 0; i < 5; i++) expect((await createRoom()).status).toBe(201);
  });
});

describe("WebSocket upgrades per address", () => {
  it("answers 429 with Retry-After past the quota; malformed requests cost nothing", async () => {
    await freshWindow();
    const ip = freshIp();
    const room = freshRoom();
    // Refused before counting: a bad room name, a missing Upgrade header.
    expect((await upgrade("-bad-", { "CF-Connecting-IP": ip })).status).toBe(400);
    expect(
      (await exports.default.fetch(`${ORIGIN}/api/rooms/${room}/websocket`, { headers: { "CF-Connecting-IP": ip } }))
        .status,
    ).toBe(426);
    const sockets: TestSocket[] = [];
    for (let i = 0; i < 5; i++) sockets.push(await TestSocket.open(room, { "CF-Connecting-IP": ip }));
    const refused = await upgrade(room, { "CF-Connecting-IP": ip });
    expect(refused.status).toBe(429);
    expect(refused.webSocket).toBeNull();
    expect(Number(refused.headers.get("Retry-After"))).toBeGreaterThanOrEqual(1);
    expect(await refused.json()).toMatchObject({
      error: "rate_limited",
      message: expect.stringMatching(/connections/),
    });
    // The open sockets are not affected, and other addresses still connect.
    await sockets[0]!.joinAs("Alice");
    expect((await upgrade(room, { "CF-Connecting-IP": freshIp() })).status).toBe(101);
  });
});

describe("frames per address, across rooms", () => {
  /** The echo of, or the error about, the frame sent with `cid` (others' messages skipped). */
  async function answerTo(socket: TestSocket, cid: string) {
    for (;;) {
      const frame = await socket.next();
      if ((frame.type === "error" || frame.type === "message") && frame.cid === cid) return frame;
    }
  }

  /** Sends messages `${name}0`, `${name}1`… until one is refused (at most
   * `max`); how many went through. Others' messages on the way are skipped. */
  async function sendUntilRefused(socket: TestSocket, name: string, max: number) {
    for (let i = 0; i < max; i++) {
      const text = `${name}${i}`;
      socket.send({ type: "message", text, cid: text });
      const answer = await answerTo(socket, text);
      if (answer.type === "error") {
        expect(answer).toMatchObject({ code: "rate_limited", cid: text });
        return { sent: i, refusal: answer.message };
      }
      await sleep(20); // let the limiter's answer for this frame arrive
    }
    return { sent: max, refusal: null };
  }

  it("refuses an address's frames in every room once it is over, and no one else's", async () => {
    await freshWindow();
    const ip = freshIp();
    const [roomA, roomB] = [freshRoom("a"), freshRoom("b")];
    // Three connections from one address, each well inside its own bucket
    // (burst 10): only the per-address count (12) can stop them.
    const first = await openFrom(ip, roomA, "First");
    const second = await openFrom(ip, roomA, "Second");
    const third = await openFrom(ip, roomB, "Third");
    const neighbour = await openFrom(freshIp(), roomA, "Neighbour");
    await first.expect("joined");
    await first.expect("joined");
    await second.expect("joined");
    // 3 joins so far; 9 more frames reach the limit.
    const a = await sendUntilRefused(first, "a", 5);
    const b = await sendUntilRefused(second, "b", 8);
    expect(a).toEqual({ sent: 5, refusal: null });
    // The room learns in the background, so one frame past the limit may pass.
    expect(b.sent).toBeGreaterThanOrEqual(4);
    expect(b.sent).toBeLessThanOrEqual(5);
    expect(b.refusal).toMatch(/your address, in all rooms together; try again in \d+ s/);
    // The other room of that address learns on its own first frame past the limit.
    const c = await sendUntilRefused(third, "c", 3);
    expect(c.sent).toBeLessThanOrEqual(1);
    expect(c.refusal).not.toBeNull();
    // The first connection is refused too: the limit is the address's, not the socket's.
    first.send({ type: "message", text: "again", cid: "again" });
    expect(await answerTo(first, "again")).toMatchObject({ type: "error", code: "rate_limited" });

    // Someone else in the same room chats on, and everyone there gets it.
    neighbour.send({ type: "message", text: "still here", cid: "n" });
    for (const socket of [neighbour, first, second])
      expect(await answerTo(socket, "n")).toMatchObject({ text: "still here" });
    const history = texts((await (await TestSocket.open(roomA)).joinAs("Reader")).history);
    const sent = (name: string, count: number) => Array.from({ length: count }, (_, i) => `${name}${i}`);
    expect(history).toEqual([...sent("a", 5), ...sent("b", b.sent), "still here"]);
  });

  it("does not take a client's word for its address", async () => {
    await freshWindow();
    const room = freshRoom();
    // X-Client-IP is how the Worker tells the room; a client sending it is ignored.
    const spoofed = await TestSocket.open(room, { "X-Client-IP": "198.51.100.7" });
    await spoofed.joinAs("Spoofer");
    const other = await TestSocket.open(room, { "X-Client-IP": "198.51.100.7" });
    await other.joinAs("Other");
    await spoofed.expect("joined");
    expect(await sendUntilRefused(spoofed, "s", 8)).toEqual({ sent: 8, refusal: null });
    // 18 frames "from" one address with a limit of 12, none refused.
    expect(await sendUntilRefused(other, "o", 8)).toEqual({ sent: 8, refusal: null });
  });
});
