/**
 * Test clients inside the Workers runtime: a real WebSocket through the
 * Worker's fetch (exactly the path a browser's upgrade takes, minus the
 * network).
 */
import { runInDurableObject } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
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

/**
 * Everything a room's database holds, as text: every row of every table of
 * the room's (the search index's own tables included, their pages decoded
 * as UTF-8), for tests that look for what must not be there.
 */
export function databaseText(room: string): Promise<string> {
  return runInDurableObject(env.ROOMS.getByName(room), (_instance, state) => {
    const sql = state.storage.sql;
    const decoder = new TextDecoder();
    const tables = sql
      .exec<{ name: string }>(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '\\_cf%' ESCAPE '\\' AND name NOT LIKE 'sqlite%'",
      )
      .toArray();
    const parts: string[] = [];
    for (const { name } of tables) {
      // A virtual table's rows are its shadow tables' (also listed).
      if (
        /^CREATE VIRTUAL/i.test(
          sql.exec<{ sql: string }>("SELECT sql FROM sqlite_master WHERE name = ?", name).one().sql,
        )
      )
        continue;
      for (const row of sql.exec(`SELECT * FROM "${name}"`))
        for (const value of Object.values(row))
          parts.push(value instanceof ArrayBuffer ? decoder.decode(value) : String(value));
    }
    return parts.join("\n");
  });
}
