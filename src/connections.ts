/**
 * The room's sockets, hibernation-aware. A hibernated room loses its memory
 * but keeps its sockets, so everything a socket needs (who joined on it, its
 * session, its rate-limit budget) is kept in the socket's attachment, and the
 * roster is rebuilt from `ctx.getWebSockets()` whenever the object wakes up.
 *
 * Attachments are cached in memory so that the hot path reads a plain object
 * instead of deserialising one per frame; every change is written through.
 */
import type { Bucket } from "./rate-limit";
import { nickKey, type ServerFrame, type User } from "./protocol";

/** What a socket carries through hibernation (structured-clone serialised). */
export interface SocketState {
  /** Set once a `join` succeeds. */
  user: User | null;
  /** Hash of the session token this socket joined with. */
  sessionHash: string | null;
  /** The client's address (CF-Connecting-IP), for the per-IP frame limit; null inside the platform. */
  ip: string | null;
  bucket: Bucket;
  /** When this user's last `typing` notice was relayed. */
  typingAt: number;
}

export class Connections {
  readonly #ctx: DurableObjectState;
  readonly #states = new WeakMap<WebSocket, SocketState>();
  /** Joined, open sockets and their users, in join order: the roster. */
  readonly #members = new Map<WebSocket, User>();
  /** The same sockets by nickKey(nick), for the uniqueness check on join and rename. */
  readonly #byNick = new Map<string, WebSocket>();

  /** Runs before every flush: the room stores the turn's messages there. */
  readonly #beforeFlush: () => void;

  constructor(ctx: DurableObjectState, beforeFlush: () => void) {
    this.#ctx = ctx;
    this.#beforeFlush = beforeFlush;
    for (const ws of ctx.getWebSockets()) {
      const user = this.state(ws).user;
      if (user !== null && ws.readyState === WebSocket.OPEN) this.#add(ws, user);
    }
  }

  /** Accepts a new socket for hibernation with a fresh state. */
  accept(ws: WebSocket, state: SocketState): void {
    this.#ctx.acceptWebSocket(ws);
    this.save(ws, state);
  }

  /** Sockets accepted and not yet closed, joined or not. */
  get openCount(): number {
    return this.#ctx.getWebSockets().length;
  }

  state(ws: WebSocket): SocketState {
    let state = this.#states.get(ws);
    if (state === undefined) {
      state = ws.deserializeAttachment() as SocketState;
      this.#states.set(ws, state);
    }
    return state;
  }

  save(ws: WebSocket, state: SocketState): void {
    ws.serializeAttachment(state);
    this.#states.set(ws, state);
  }

  // --- the roster ----------------------------------------------------------

  get users(): User[] {
    return [...this.#members.values()];
  }

  /** The joined sockets, as a copy (safe to change the roster while iterating). */
  memberSockets(): WebSocket[] {
    return [...this.#members.keys()];
  }

  get memberCount(): number {
    return this.#members.size;
  }

  /** The joined socket whose nickname counts as the same as `nick` (nickKey). */
  findByNick(nick: string): WebSocket | undefined {
    return this.#byNick.get(nickKey(nick));
  }

  findByUserId(id: string): WebSocket | undefined {
    for (const [ws, user] of this.#members) if (user.id === id) return ws;
    return undefined;
  }

  join(ws: WebSocket, user: User, sessionHash: string): void {
    const state = this.state(ws);
    state.user = user;
    state.sessionHash = sessionHash;
    this.save(ws, state);
    this.#add(ws, user);
  }

  rename(ws: WebSocket, user: User): void {
    const state = this.state(ws);
    this.#remove(ws);
    state.user = user;
    this.save(ws, state);
    this.#add(ws, user);
  }

  #add(ws: WebSocket, user: User): void {
    this.#members.set(ws, user);
    this.#byNick.set(nickKey(user.nick), ws);
  }

  #remove(ws: WebSocket): void {
    const user = this.#members.get(ws);
    if (user === undefined) return;
    this.#members.delete(ws);
    if (this.#byNick.get(nickKey(user.nick)) === ws) this.#byNick.delete(nickKey(user.nick));
  }

  /** Takes a socket off the roster for good (it is closing, or was taken
   * over); returns the user it carried and the session it joined with. */
  leave(ws: WebSocket): { user: User; sessionHash: string } | null {
    const state = this.state(ws);
    this.#remove(ws);
    if (state.user === null || state.sessionHash === null) return null;
    const left = { user: state.user, sessionHash: state.sessionHash };
    state.user = null;
    state.sessionHash = null;
    // The socket may already be gone, in which case there is nothing to keep.
    try {
      this.save(ws, state);
    } catch {
      this.#states.set(ws, state);
    }
    return left;
  }

  // --- sending -------------------------------------------------------------
  //
  // Frames are not sent one by one. Under load, the number of WebSocket
  // messages is what costs (each crosses the runtime's I/O layer), not the
  // bytes: so everything a socket is due during one turn of the room (every
  // frame that arrives before the flush timer fires) goes out as ONE
  // WebSocket message, a JSON array of frames, which protocol v1 allows.
  // A lone frame is sent as itself. Per-socket order is kept: direct frames
  // (a welcome, an error) and broadcasts share the socket's queue.

  /** Serialises `frame` once and queues it for every joined socket but
   * `except`; returns the payload, which retract() can take back. */
  broadcast(frame: ServerFrame, except?: WebSocket): string {
    const payload = JSON.stringify(frame);
    this.#turn.push(payload);
    for (const ws of this.#members.keys()) if (ws !== except) this.#queue(ws, payload, true);
    return payload;
  }

  /** Takes queued broadcasts back from every socket, before anyone got them. */
  retract(payloads: ReadonlySet<string>): void {
    for (const [ws, queued] of this.#outbox) {
      queued.payloads = queued.payloads.filter((payload) => !payloads.has(payload));
      if (queued.payloads.length === 0) this.#outbox.delete(ws);
    }
    this.#turn = this.#turn.filter((payload) => !payloads.has(payload));
    this.#turnPayload = null;
  }

  /** Queues `frame` for `ws` alone, after whatever it is already due. */
  send(ws: WebSocket, frame: ServerFrame): void {
    this.#queue(ws, JSON.stringify(frame), false);
  }

  /** Sends what `ws` is due, then closes it: a refusal arrives before the close. */
  close(ws: WebSocket, code?: number, reason?: string): void {
    const queued = this.#outbox.get(ws)?.payloads;
    if (queued !== undefined) {
      this.#outbox.delete(ws);
      // Not the shared array: the turn is not over, and others may get more.
      sendRaw(ws, queued.length === 1 ? queued[0]! : `[${queued.join(",")}]`);
    }
    try {
      if (code === undefined) ws.close();
      else ws.close(code, reason);
    } catch {
      // Already closed.
    }
  }

  /** Per socket: its queued payloads, and whether all of them are broadcasts. */
  readonly #outbox = new Map<WebSocket, { payloads: string[]; broadcastsOnly: boolean }>();
  /** Every broadcast payload of this turn, in order. */
  #turn: string[] = [];
  /** The turn's broadcasts as one array, built once for all who got all of them. */
  #turnPayload: string | null = null;
  #flushScheduled = false;

  #queue(ws: WebSocket, payload: string, broadcast: boolean): void {
    const queued = this.#outbox.get(ws);
    if (queued === undefined) this.#outbox.set(ws, { payloads: [payload], broadcastsOnly: broadcast });
    else {
      queued.payloads.push(payload);
      if (!broadcast) queued.broadcastsOnly = false;
    }
    if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      // A zero timeout runs after the frames already waiting have been
      // handled; a microtask would run after each one (workerd drains
      // microtasks between events), batching nothing.
      setTimeout(() => this.flush(), 0);
    }
  }

  #payloadOf(queued: { payloads: string[]; broadcastsOnly: boolean }): string {
    const { payloads } = queued;
    if (payloads.length === 1) return payloads[0]!;
    // Broadcasts reach a socket in the order they were made, at most once
    // each: a socket that got as many as there were got exactly those, and
    // shares the one array built for everybody (O(1) per recipient).
    if (queued.broadcastsOnly && payloads.length === this.#turn.length) {
      return (this.#turnPayload ??= `[${this.#turn.join(",")}]`);
    }
    return `[${payloads.join(",")}]`;
  }

  /** Sends every queued frame: one WebSocket message per socket. */
  flush(): void {
    this.#flushScheduled = false;
    this.#beforeFlush();
    for (const [ws, queued] of this.#outbox) sendRaw(ws, this.#payloadOf(queued));
    this.#outbox.clear();
    this.#turn = [];
    this.#turnPayload = null;
  }
}

/** Sends without throwing: a socket can close between two events, and one
 * dead recipient must not stop a broadcast to the others. */
export function sendRaw(ws: WebSocket, payload: string): void {
  try {
    ws.send(payload);
  } catch {
    // The close event that follows takes it off the roster.
  }
}

/** Sends one frame at once, outside any queue (a socket refused before it is accepted). */
export function sendNow(ws: WebSocket, frame: ServerFrame): void {
  sendRaw(ws, JSON.stringify(frame));
}
