/**
 * A chatting client for end-to-end tests in Node, built from the real client
 * parts: the shared reconnecting connection (src/core/connection.ts) and the
 * terminal client's outbox (cli/outbox.ts), wired the way cli/session.ts wires
 * them: own messages are queued with a cid, confirmed by their echo (live or
 * in a resume's history) and, after a reconnect, whatever was not confirmed
 * is written again with the same cid.
 *
 * Besides what the client logic delivers, every WebSocket frame that crosses
 * the wire is kept (see `recordWebSockets`), so that a test can check what the
 * server itself sent, before the client's de-duplication.
 */
import { ChatConnection, type Status } from "../../src/core/connection";
import {
  parseServerMessage,
  type ClientFrame,
  type MessageFrame,
  type ServerFrame,
  type User,
} from "../../src/shared/protocol";
import { Outbox } from "../../src/core/outbox";

/** One WebSocket message, in or out, on one socket (`socket` counts from 0 per client). */
export interface WireEvent {
  socket: number;
  dir: "in" | "out";
  data: string;
  at: number;
}

const wireLogs = new Map<string, WireEvent[]>();
const socketCounts = new Map<string, number>();
const WIRE_KEY = "e2e-client";

/**
 * Replaces the global WebSocket with a subclass that logs every frame of the
 * sockets whose URL carries `?e2e-client=<name>`, and returns the undo.
 * ChatConnection opens its sockets with the global constructor, so this is
 * the one place to see them.
 */
export function recordWebSockets(): () => void {
  const Original = globalThis.WebSocket;
  class RecordingWebSocket extends Original {
    constructor(url: string | URL, protocols?: string | string[]) {
      super(url, protocols);
      const name = new URL(String(url)).searchParams.get(WIRE_KEY);
      if (name === null) return;
      const socket = socketCounts.get(name) ?? 0;
      socketCounts.set(name, socket + 1);
      const log = wireLogs.get(name) ?? [];
      wireLogs.set(name, log);
      this.addEventListener("message", (event) => {
        if (typeof event.data === "string") log.push({ socket, dir: "in", data: event.data, at: Date.now() });
      });
      const send = this.send.bind(this);
      this.send = (data) => {
        if (typeof data === "string") log.push({ socket, dir: "out", data, at: Date.now() });
        send(data);
      };
    }
  }
  globalThis.WebSocket = RecordingWebSocket as typeof globalThis.WebSocket;
  return () => {
    globalThis.WebSocket = Original;
  };
}

export interface Ack {
  cid: string;
  id: number;
  /** How the echo came: live, or in a resume's history. */
  via: "live" | "history";
  at: number;
}

export class Chatter {
  readonly name: string;
  readonly room: string;
  readonly connection: ChatConnection;
  readonly outbox: Outbox;
  /** Message ids as the client logic delivered them, in order. */
  readonly seen: MessageFrame[] = [];
  /** Own messages confirmed by the room, by cid. */
  readonly acked = new Map<string, Ack>();
  /** How many times each cid went out on a socket. */
  readonly writes = new Map<string, number>();
  /** The identity of every welcome. */
  readonly identities: User[] = [];
  readonly errors: ServerFrame[] = [];
  readonly statuses: { status: Status; at: number }[] = [];
  welcomes = 0;
  #me: User | null = null;
  #typed = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(baseUrl: string, room: string, name: string) {
    this.name = name;
    this.room = room;
    const url = `${baseUrl.replace(/^http/, "ws")}/api/rooms/${room}/websocket?${WIRE_KEY}=${encodeURIComponent(name)}`;
    this.outbox = new Outbox(
      (frame: ClientFrame) => {
        const sent = this.connection.send(frame);
        if (sent && frame.type === "message" && frame.cid !== undefined) {
          this.writes.set(frame.cid, (this.writes.get(frame.cid) ?? 0) + 1);
        }
        return sent;
      },
      (item, reason) => {
        throw new Error(`${name}: the room would refuse ${JSON.stringify(item)}: ${reason}`);
      },
    );
    this.connection = new ChatConnection(url, {
      frame: (frame) => this.#frame(frame),
      status: (status) => {
        this.statuses.push({ status, at: Date.now() });
        if (status !== "online") this.outbox.disconnected();
      },
    });
  }

  get joined(): boolean {
    return this.connection.joined;
  }

  get lastId(): number {
    return this.seen.at(-1)?.id ?? 0;
  }

  join(): void {
    this.connection.join(this.name);
  }

  /** Types a message every `minMs`–`maxMs` until stopTyping(). */
  startTyping(minMs: number, maxMs: number): void {
    const tick = () => {
      this.say(`${this.name} says #${++this.#typed}`);
      this.#timer = setTimeout(tick, minMs + Math.random() * (maxMs - minMs));
    };
    this.#timer = setTimeout(tick, Math.random() * maxMs);
  }

  stopTyping(): void {
    clearTimeout(this.#timer);
  }

  /** Queues a message; the outbox names its cid (seen in `writes` once sent). */
  say(text: string): void {
    this.outbox.message(text, false);
  }

  /** Messages typed so far. */
  get typed(): number {
    return this.#typed;
  }

  /** Written at least once but not confirmed yet. */
  inFlight(): string[] {
    return [...this.writes.keys()].filter((cid) => !this.acked.has(cid));
  }

  /** The socket-level log of this client (see recordWebSockets). */
  wire(): WireEvent[] {
    return wireLogs.get(this.name) ?? [];
  }

  async close(): Promise<void> {
    this.stopTyping();
    this.outbox.stop();
    await this.connection.close();
  }

  #frame(frame: ServerFrame): void {
    switch (frame.type) {
      case "welcome":
        this.welcomes++;
        this.#me = frame.you;
        this.identities.push(frame.you);
        if (frame.truncated) this.errors.push(frame);
        for (const entry of frame.history) if (entry.type === "message") this.#message(entry, "history");
        this.outbox.joined(frame.limits, frame.you.nick);
        return;
      case "message":
        return this.#message(frame, "live");
      case "error":
        this.errors.push(frame);
        this.outbox.refused(frame.cid);
        return;
      default:
        return;
    }
  }

  #message(message: MessageFrame, via: Ack["via"]): void {
    this.seen.push(message);
    if (message.cid !== undefined && message.from.id === this.#me?.id) {
      if (!this.acked.has(message.cid))
        this.acked.set(message.cid, { cid: message.cid, id: message.id, via, at: Date.now() });
      this.outbox.confirmMessage(message.cid);
    }
  }
}

/** The message ids the server sent down one client's sockets, in order:
 * each resumed welcome's history followed by the live messages. */
export function wireMessageIds(events: WireEvent[]): { socket: number; ids: number[]; since: number | undefined }[] {
  const sockets = new Map<number, { socket: number; ids: number[]; since: number | undefined }>();
  for (const event of events) {
    let entry = sockets.get(event.socket);
    if (entry === undefined) {
      entry = { socket: event.socket, ids: [], since: undefined };
      sockets.set(event.socket, entry);
    }
    if (event.dir === "out") {
      if (event.data.startsWith("{")) {
        const frame = JSON.parse(event.data) as ClientFrame;
        if (frame.type === "join" && frame.since !== undefined) entry.since = frame.since;
      }
      continue;
    }
    let frames: ServerFrame[];
    try {
      frames = parseServerMessage(event.data);
    } catch {
      continue;
    }
    for (const frame of frames) {
      if (frame.type === "welcome") entry.ids.push(...frame.history.map((message) => message.id));
      else if (frame.type === "message") entry.ids.push(frame.id);
    }
  }
  return [...sockets.values()].sort((a, b) => a.socket - b.socket);
}
