/**
 * Calls in the room (protocol side): who is in the call is presence (`call`
 * frames, `welcome.call`), and `signal` frames go to one member of the call
 * alone, stamped with the sender, never stored. Limits here
 * (vitest.config.ts): 3 people per call, signals 8 at once then 2 a second,
 * 4,000 bytes each.
 */
import { describe, expect, it } from "vitest";
import type { CallState } from "../src/shared/protocol";
import type { ChatSocket } from "./chat-socket";
import type { ServerFrame } from "../src/shared/protocol";
import { TestSocket, aliceAndBob, freshRoom } from "./socket";

/** The next frame of `type`, passing over others (joins, leaves) on the way. */
async function next<T extends ServerFrame["type"]>(
  socket: ChatSocket,
  type: T,
): Promise<Extract<ServerFrame, { type: T }>> {
  for (;;) {
    const frame = await socket.next();
    if (frame.type === type) return frame as Extract<ServerFrame, { type: T }>;
  }
}

const AUDIO: CallState = { audio: true, video: false };
const BOTH: CallState = { audio: true, video: true };
const offer = { description: { type: "offer", sdp: "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n" } };

/** Alice and Bob in a room and in its call, each having seen both join it. */
async function inACall(room = freshRoom("call")) {
  const people = await aliceAndBob(room);
  const { alice, bob } = people;
  alice.send({ type: "call", state: AUDIO });
  expect(await alice.expect("call")).toEqual({ type: "call", user: people.aliceWelcome.you, state: AUDIO });
  expect(await bob.expect("call")).toEqual({ type: "call", user: people.aliceWelcome.you, state: AUDIO });
  bob.send({ type: "call", state: BOTH });
  expect(await alice.expect("call")).toEqual({ type: "call", user: people.bobWelcome.you, state: BOTH });
  expect(await bob.expect("call")).toEqual({ type: "call", user: people.bobWelcome.you, state: BOTH });
  return people;
}

describe("the call as presence", () => {
  it("welcome tells a newcomer who is in the call, the call's size and the ICE servers", async () => {
    const [, empty] = await TestSocket.join(freshRoom("call"), "Solo");
    expect(empty.call).toEqual({
      members: [],
      maxParticipants: 3,
      iceServers: [{ urls: "stun:stun.cloudflare.com:3478" }],
    });
    const { room, aliceWelcome, bobWelcome } = await inACall();
    const [, carol] = await TestSocket.join(room, "Carol");
    expect(carol.call?.members).toEqual([
      { user: aliceWelcome.you, state: AUDIO },
      { user: bobWelcome.you, state: BOTH },
    ]);
  });

  it("tells everyone, the sender included, of changes and of leaving; leaving twice says nothing", async () => {
    const { alice, bob, aliceWelcome } = await inACall();
    alice.send({ type: "call", state: { audio: false, video: true } });
    for (const socket of [alice, bob])
      expect(await socket.expect("call")).toMatchObject({
        user: aliceWelcome.you,
        state: { audio: false, video: true },
      });
    alice.send({ type: "call", state: null });
    for (const socket of [alice, bob])
      expect(await socket.expect("call")).toEqual({ type: "call", user: aliceWelcome.you, state: null });
    alice.send({ type: "call", state: null });
    await bob.expectSilence();
    await alice.expectSilence();
  });

  it("refuses a participant past MAX_CALL_PARTICIPANTS with call_full, and takes them once there is room", async () => {
    const { room, alice, bob } = await inACall();
    const [carol] = await TestSocket.join(room, "Carol");
    const [dave] = await TestSocket.join(room, "Dave");
    carol.send({ type: "call", state: AUDIO });
    await next(carol, "call");
    dave.send({ type: "call", state: AUDIO });
    expect(await next(dave, "error")).toMatchObject({
      code: "call_full",
      message: expect.stringContaining("3 people"),
    });
    alice.close();
    expect(await next(bob, "left")).toMatchObject({ user: { nick: "Alice" } });
    dave.send({ type: "call", state: AUDIO });
    expect(await next(dave, "call")).toMatchObject({ user: { nick: "Dave" }, state: AUDIO });
  });

  it("keeps a member in the call when their session takes over a half-open socket", async () => {
    const { room, alice, bob, bobWelcome } = await inACall();
    const [again, welcome] = await TestSocket.join(room, "Bob", { session: bobWelcome.session });
    expect((await bob.closeEvent()).code).toBe(4001);
    expect(welcome.call?.members.map((m) => m.user.id)).toContain(bobWelcome.you.id);
    await alice.expectSilence(); // no left, no joined, no call change
    // Signals reach Bob on his new socket.
    alice.send({ type: "signal", to: bobWelcome.you.id, data: offer });
    expect(await again.expect("signal")).toMatchObject({ data: offer });
  });

  it("a member who leaves the room is no longer in the call", async () => {
    const { room, alice, bob, bobWelcome } = await inACall();
    bob.close();
    expect(await alice.expect("left")).toMatchObject({ user: bobWelcome.you });
    const [, carol] = await TestSocket.join(room, "Carol");
    expect(carol.call?.members.map((m) => m.user.nick)).toEqual(["Alice"]);
    alice.send({ type: "signal", to: bobWelcome.you.id, data: offer });
    expect(await next(alice, "error")).toMatchObject({ code: "not_in_call" });
  });
});

describe("signals", () => {
  it("go to the one member named, stamped with the sender, and to nobody else", async () => {
    const { room, alice, bob, aliceWelcome, bobWelcome } = await inACall();
    const [carol] = await TestSocket.join(room, "Carol");
    await alice.expect("joined");
    await bob.expect("joined");
    const candidate = {
      candidate: { candidate: "candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host", sdpMid: "0", sdpMLineIndex: 0 },
    };
    alice.send({ type: "signal", to: bobWelcome.you.id, data: offer });
    alice.send({ type: "signal", to: bobWelcome.you.id, data: candidate });
    expect(await bob.expect("signal")).toEqual({ type: "signal", from: aliceWelcome.you.id, data: offer });
    expect(await bob.expect("signal")).toEqual({ type: "signal", from: aliceWelcome.you.id, data: candidate });
    bob.send({ type: "signal", to: aliceWelcome.you.id, data: { description: { type: "answer", sdp: "v=0\r\n" } } });
    expect(await alice.expect("signal")).toMatchObject({ from: bobWelcome.you.id });
    await carol.expectSilence();
    // Never part of the history.
    const [, dave] = await TestSocket.join(room, "Dave");
    expect(dave.history).toEqual([]);
  });

  it("are refused from someone not in the call, to someone not in it, to oneself and to unknown ids", async () => {
    const { room, alice, bob, aliceWelcome, bobWelcome } = await inACall();
    const [carol, carolWelcome] = await TestSocket.join(room, "Carol");
    await alice.expect("joined");
    await bob.expect("joined");
    carol.send({ type: "signal", to: aliceWelcome.you.id, data: offer });
    expect(await carol.expect("error")).toMatchObject({
      code: "not_in_call",
      message: expect.stringContaining("Join the call"),
    });
    for (const to of [carolWelcome.you.id, aliceWelcome.you.id, "nobody-like-this", bobWelcome.you.id.toUpperCase()]) {
      alice.send({ type: "signal", to, data: offer });
      expect(await alice.expect("error"), to).toMatchObject({ code: "not_in_call" });
    }
    await bob.expectSilence();
  });

  it("must have a `to` and an object as `data`", async () => {
    const { alice, bob, bobWelcome } = await inACall();
    for (const frame of [
      { type: "signal", data: offer },
      { type: "signal", to: "", data: offer },
      { type: "signal", to: "x".repeat(65), data: offer },
      { type: "signal", to: bobWelcome.you.id },
      { type: "signal", to: bobWelcome.you.id, data: "offer" },
      { type: "signal", to: bobWelcome.you.id, data: [offer] },
      { type: "call", state: { audio: "yes", video: false } },
      { type: "call", state: { audio: true } },
    ]) {
      alice.send(frame);
      expect(await alice.expect("error"), JSON.stringify(frame)).toMatchObject({ code: "bad_frame" });
    }
    await bob.expectSilence();
  });

  it("over MAX_SIGNAL_BYTES are refused with too_long, and the socket stays open", async () => {
    const { alice, bob, bobWelcome } = await inACall();
    alice.send({
      type: "signal",
      to: bobWelcome.you.id,
      data: { description: { type: "offer", sdp: "a".repeat(4000) } },
    });
    expect(await alice.expect("error")).toMatchObject({
      code: "too_long",
      message: "Signals are limited to 4000 bytes.",
    });
    alice.send({ type: "signal", to: bobWelcome.you.id, data: offer });
    expect(await bob.expect("signal")).toMatchObject({ data: offer });
  });

  it("have a budget of their own: a burst of ICE candidates costs no messages, a flood is refused", async () => {
    const { alice, bob, bobWelcome } = await inACall();
    for (let i = 0; i < 8; i++)
      alice.send({ type: "signal", to: bobWelcome.you.id, data: { candidate: { candidate: `c${i}` } } });
    for (let i = 0; i < 8; i++)
      expect(await bob.expect("signal")).toMatchObject({ data: { candidate: { candidate: `c${i}` } } });
    alice.send({ type: "signal", to: bobWelcome.you.id, data: { candidate: { candidate: "one too many" } } });
    expect(await alice.expect("error")).toMatchObject({
      code: "rate_limited",
      message: expect.stringContaining("8 signals at once"),
    });
    // The message budget (10 at once; the join and the call frame took two) is untouched by the signals.
    for (let i = 0; i < 8; i++) alice.send({ type: "message", text: `m${i}` });
    for (let i = 0; i < 8; i++) expect(await bob.expect("message")).toMatchObject({ text: `m${i}` });
  });
});
