/**
 * The reconnecting connection shared by the browser page and the terminal
 * client (src/core/connection.ts), in Node with a stub WebSocket: the
 * platform quirks no real server shows on demand, and the resume rules,
 * with fake timers instead of real backoff.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ChatConnection, type Status, type StatusDetail } from "../../src/core/connection";
import type { ServerFrame } from "../../src/shared/protocol";
import { StubSocket } from "./stub-socket";

const limits = { messageLength: 4000, nickLength: 32, typingIntervalMs: 2000, rateBurst: 10, ratePerSecond: 5 };
const me = { id: "me", nick: "Kartik" };
const message = (id: number) => ({ type: "message", id, ts: 0, from: me, text: `m${id}` });

let statuses: [Status, StatusDetail | undefined][];
let frames: ServerFrame[];

function connect(): ChatConnection {
  return new ChatConnection("ws://room.test/api/rooms/r/websocket", {
    frame: (frame) => frames.push(frame),
    status: (status, detail) => statuses.push([status, detail]),
  });
}

beforeEach(() => {
  vi.useFakeTimers();
  vi.stubGlobal("WebSocket", StubSocket);
  StubSocket.all = [];
  statuses = [];
  frames = [];
});

afterEach(() => {
  vi.unstubAllGlobals();
  vi.useRealTimers();
});

describe("ChatConnection", () => {
  it("gives up when a first connection fails with an error and no close (Node 22's WebSocket)", () => {
    connect().join("Kartik");
    StubSocket.all[0]!.end(1006, true, false);
    expect(statuses.map(([status]) => status)).toEqual(["connecting", "offline"]);
  });

  it("handles an error followed by close once (browsers)", () => {
    connect().join("Kartik");
    StubSocket.all[0]!.end(1006, true, true);
    expect(statuses.map(([status]) => status)).toEqual(["connecting", "offline"]);
  });

  it("reconnects with backoff after a drop, resumes with since and session, and drops what it has seen", () => {
    const connection = connect();
    connection.join("Kartik");
    const first = StubSocket.all[0]!;
    first.open();
    expect(first.sent).toEqual([JSON.stringify({ type: "join", nick: "Kartik" })]);
    first.receive({ type: "welcome", room: "r", you: me, session: "s1", users: [me], history: [message(1)], limits });
    first.receive(message(2));
    expect(connection.joined).toBe(true);

    first.end(1006, true, true);
    const [status, detail] = statuses.at(-1)!;
    expect(status).toBe("reconnecting");
    // The first retry comes after 0.5–1 s (1 s with jitter).
    const wait = detail!.retryAt! - Date.now();
    expect(wait).toBeGreaterThanOrEqual(500);
    expect(wait).toBeLessThanOrEqual(1000);
    vi.advanceTimersByTime(wait);
    const second = StubSocket.all[1]!;
    second.open();
    expect(JSON.parse(second.sent[0]!)).toEqual({ type: "join", nick: "Kartik", since: 2, session: "s1" });
    // A welcome whose history overlaps what was seen, then a repeated message.
    second.receive({
      type: "welcome",
      room: "r",
      you: me,
      session: "s1",
      users: [me],
      history: [message(2), message(3)],
      limits,
    });
    second.receive(message(3));
    second.receive(message(4));
    const ids = frames.flatMap((frame) =>
      frame.type === "message" ? [frame.id] : frame.type === "welcome" ? frame.history.map((m) => m.id) : [],
    );
    expect(ids).toEqual([1, 2, 3, 4]);
  });

  it("reads batched frames (one WebSocket message holding a JSON array, as rooms send under load) one by one, in order", () => {
    const connection = connect();
    connection.join("Kartik");
    const socket = StubSocket.all[0]!;
    socket.open();
    const ana = { id: "ana", nick: "Ana" };
    // The welcome and what followed it in the same turn of the room, in one message.
    socket.receive([
      { type: "welcome", room: "r", you: me, session: "s1", users: [me], history: [message(1)], limits },
      { type: "joined", user: ana },
      message(2),
      { type: "typing", user: ana },
      message(3),
    ]);
    socket.receive([message(4), { type: "left", user: ana }]);
    expect(frames.map((frame) => (frame.type === "message" ? `message ${frame.id}` : frame.type))).toEqual([
      "welcome",
      "joined",
      "message 2",
      "typing",
      "message 3",
      "message 4",
      "left",
    ]);
    expect(connection.joined).toBe(true);
    // The resume point is the last message of the last batch.
    socket.end(1006, false, true);
    vi.advanceTimersByTime(1000);
    StubSocket.all[1]!.open();
    expect(JSON.parse(StubSocket.all[1]!.sent[0]!)).toMatchObject({ since: 4, session: "s1" });
  });

  it("closes for good with close(): a 1000 close, and no reconnect", async () => {
    const connection = connect();
    connection.join("Kartik");
    const socket = StubSocket.all[0]!;
    socket.open();
    socket.receive({ type: "welcome", room: "r", you: me, session: "s1", users: [me], history: [], limits });
    const closed = connection.close();
    expect(socket.closedWith).toBe(1000);
    socket.end(1000);
    await closed;
    vi.advanceTimersByTime(60_000);
    expect(StubSocket.all).toHaveLength(1);
    expect(statuses.map(([status]) => status)).toEqual(["connecting", "online"]);
  });
});
