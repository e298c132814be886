/**
 * Test clients inside the Workers runtime: a real WebSocket through the
 * Worker's fetch (exactly the path a browser's upgrade takes, minus the
 * network).
 */
import { exports } from "cloudflare:workers";
import type { LogEntry, ServerFrame, WelcomeFrame } from "../src/shared/protocol";
import { ChatSocket } from "./chat-socket";

export const ORIGIN = "http://chat.test";

export function upgrade(room: string, headers: Record<string, string> = {}): Promise<Response> {
  return exports.default.fetch(`${ORIGIN}/api/rooms/${room}/websocket`, {
    headers: { Upgrade: "websocket", ...headers },
  });
}

export class TestSocket extends ChatSocket {
  static async open(room: string, headers: Record<string, string> = {}): Promise<TestSocket> {
    const response = await upgrade(room, headers);
    if (response.webSocket === null) throw new Error(`no upgrade: ${response.status} ${await response.text()}`);
    response.webSocket.accept();
    return new TestSocket(response.webSocket);
  }

  /** Opens a socket and joins; resolves with the socket and its welcome. */
  static async join(
    room: string,
    nick: string,
    extra: Record<string, unknown> = {},
  ): Promise<[TestSocket, WelcomeFrame]> {
    const socket = await TestSocket.open(room);
    const welcome = await socket.joinAs(nick, extra);
    return [socket, welcome];
  }
}

let counter = 0;
/** A room name of its own for each test: storage is shared within a file. */
export const freshRoom = (label = "room"): string => `${label}-${Date.now().toString(36)}-${(counter++).toString(36)}`;

/** Alice and Bob in a fresh room, with Alice's "Bob joined" already read. */
export async function aliceAndBob(room = freshRoom()) {
  const [alice, aliceWelcome] = await TestSocket.join(room, "Alice");
  const [bob, bobWelcome] = await TestSocket.join(room, "Bob");
  await alice.expect("joined");
  return { room, alice, aliceWelcome, bob, bobWelcome };
}

/** A socket's next frame of `type`, skipping presence (joins, leaves,
 * typing: they may come a little later than other frames) on the way; any
 * other frame is an error. */
export async function next<T extends ServerFrame["type"]>(
  socket: TestSocket,
  type: T,
): Promise<Extract<ServerFrame, { type: T }>> {
  for (;;) {
    const frame = await socket.next();
    if (frame.type === type) return frame as Extract<ServerFrame, { type: T }>;
    if (frame.type !== "joined" && frame.type !== "left" && frame.type !== "typing")
      throw new Error(`expected ${type}, got ${JSON.stringify(frame)}`);
  }
}

/** What a history shows, in order: each message's text ("" for a file or a
 * tombstone), or the type of any other log entry ("deleted", "cleared"). */
export const texts = (history: readonly LogEntry[]): string[] =>
  history.map((entry) => (entry.type === "message" ? entry.text : entry.type));
