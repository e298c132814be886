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

  constructor(ctx: DurableObjectState) {
    this.#ctx = ctx;
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

  /** Serialises `frame` once and sends it to every joined socket but `except`. */
  broadcast(frame: ServerFrame, except?: WebSocket): void {
    const payload = JSON.stringify(frame);
    for (const ws of this.#members.keys()) if (ws !== except) sendRaw(ws, payload);
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

export function send(ws: WebSocket, frame: ServerFrame): void {
  sendRaw(ws, JSON.stringify(frame));
}
