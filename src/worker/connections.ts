/**
 * The room's sockets, hibernation-aware. A hibernated room loses its memory
 * but keeps its sockets, so everything a socket needs (who joined on it, its
 * session, its rate-limit budget) is kept in the socket's attachment, and the
 * roster is rebuilt from `ctx.getWebSockets()` whenever the object wakes up.
 *
 * Attachments are cached in memory so that the hot path reads a plain object
 * instead of deserialising one per frame; every change is written through.
 */
import type { Bucket } from "../shared/rate-limit";
import { nickKey, utf8Length, type CallMember, type CallState, type ServerFrame, type User } from "../shared/protocol";

/** What a socket carries through hibernation (structured-clone serialised). */
export interface SocketState {
  /** Set once a `join` succeeds. */
  user: User | null;
  /** Hash of the session token this socket joined with. */
  sessionHash: string | null;
  /** The client's address as limits count it (clientIp: an IPv6 /64), for
   * the per-address limits; null inside the platform. */
  ip: string | null;
  /** When the socket was accepted: it must join within JOIN_TIMEOUT_MS
   * (absent on sockets from before the deadline existed: the oldest). */
  openedAt?: number;
  /** The budget for frames that do something (all but typing and signal). */
  bucket: Bucket;
  /** When this user's last `typing` notice was relayed. */
  typingAt: number;
  /** In the room's call, and sending what (absent on sockets from before calls existed). */
  call?: CallState | null;
  /** The budget for `signal` frames, apart from `bucket` (made on the first signal). */
  signalBucket?: Bucket;
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

  /** Sockets accepted and not closed or closing, joined or not. */
  get openCount(): number {
    let count = 0;
    for (const ws of this.#ctx.getWebSockets()) if (ws.readyState === WebSocket.OPEN) count++;
    return count;
  }

  /** Open sockets that have not joined (yet, or after a refused join), oldest first. */
  unjoined(): WebSocket[] {
    return this.#ctx
      .getWebSockets()
      .filter((ws) => ws.readyState === WebSocket.OPEN && this.state(ws).user === null)
      .sort((a, b) => (this.state(a).openedAt ?? 0) - (this.state(b).openedAt ?? 0));
  }

  /** How many open sockets came from the address `ip` (as clientIp keys it). */
  countFrom(ip: string): number {
    let count = 0;
    for (const ws of this.#ctx.getWebSockets())
      if (ws.readyState === WebSocket.OPEN && this.state(ws).ip === ip) count++;
    return count;
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

  /** Everyone in the room's call, in join order of the room. */
  callMembers(): CallMember[] {
    const members: CallMember[] = [];
    for (const [ws, user] of this.#members) {
      const state = this.state(ws).call;
      if (state) members.push({ user, state });
    }
    return members;
  }

  get memberCount(): number {
    return this.#members.size;
  }

  /** The joined socket whose nickname counts as the same as `nick` (nickKey). */
  findByNick(nick: string): WebSocket | undefined {
    return this.#byNick.get(nickKey(nick));
  }

  /** The state of the joined socket that joined with this session, if one is here. */
  findBySession(sessionHash: string): SocketState | undefined {
    for (const ws of this.#members.keys()) {
      const state = this.state(ws);
      if (state.sessionHash === sessionHash) return state;
    }
    return undefined;
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

  /** A member's user changed: a new nickname, a new role. */
  update(ws: WebSocket, user: User): void {
    const state = this.state(ws);
    this.#remove(ws);
    state.user = user;
    this.save(ws, state);
    this.#add(ws, user);
  }

  #add(ws: WebSocket, user: User): void {
    // A member who arrives mid-turn is due none of the turn so far.
    if (this.#sentUpTo < this.#turn.length && !this.#own.has(ws)) this.#own.set(ws, []);
    this.#members.set(ws, user);
    this.#byNick.set(nickKey(user.nick), ws);
  }

  #remove(ws: WebSocket): void {
    const user = this.#members.get(ws);
    if (user === undefined) return;
    // One who leaves is still sent what it was due until now.
    if (this.#sentUpTo < this.#turn.length) this.#ownQueue(ws);
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
  // bytes: so everything a socket is due during one turn of the room goes
  // out as ONE WebSocket message, a JSON array of frames, which protocol v1
  // allows. A lone frame is sent as itself. Per-socket order is kept: direct
  // frames (a welcome, an error) and broadcasts share the socket's queue.
  //
  // Most members are due exactly the turn's broadcasts, so those are not
  // queued per socket: a broadcast is one push onto #turn, and the flush
  // sends the same array to every member "in step". Only a socket that
  // differs (it got a direct frame, was left out of a broadcast, or joined or
  // left the roster mid-turn) gets a queue of its own (#own), which later
  // broadcasts join. So a message costs the room the same whether the room
  // holds five people or five hundred, but for the sends themselves.
  //
  // When a turn ends is the batching rule. An idle room sends a message at
  // the end of the event that brought it (a microtask, which workerd runs
  // before the next event): a lone message is stored and sent at once, with
  // no wait. A busy room waits one zero timeout, a trip round the event
  // loop, so that the frames already waiting join the turn: under a flood,
  // turns grow with the load. Busy means the last turn batched several
  // broadcasts under BUSY_AFTER_BATCH_MS ago, or the last flush was under
  // BUSY_WINDOW_MS ago (a burst may be starting); a wait that gathered
  // nothing (one client sending as fast as its echoes return) switches the
  // second test off for BUSY_AFTER_BATCH_MS. Either way the turn's messages
  // are stored first (beforeFlush), and the output gate holds the sends
  // until that write is durable.
  //
  // Presence (joined, left, renamed, typing) is not urgent: a socket due
  // nothing else gets it up to PRESENCE_DELAY_MS later, together with the
  // presence of everyone else who came or went meanwhile. When a thousand
  // people arrive, each member then gets a few bursts instead of a thousand
  // frames. A socket due anything urgent (a message, its welcome, an error)
  // gets its presence with it, in order.

  /** Every broadcast payload since the room last had nothing to send, in order. */
  #turn: string[] = [];
  /** Members in step have been sent #turn up to here and are due the rest. */
  #sentUpTo = 0;
  /** Whether the part of #turn members in step are due holds anything urgent. */
  #inStepUrgent = false;
  /** The sockets out of step, each with everything it is due, in order. */
  readonly #own = new Map<WebSocket, string[]>();
  /** The sockets of #own due something urgent: what an urgent flush visits,
   * so that a join in a crowd does not walk every socket due only presence. */
  readonly #urgentOwn = new Set<WebSocket>();
  /** Urgent broadcasts since the last urgent flush (presence is not counted). */
  #urgentBroadcasts = 0;
  #urgentFlushScheduled = false;
  #presenceFlushScheduled = false;

  /** Serialises `frame` once and queues it for every joined socket but
   * `except`; returns the payload, which retract() can take back. */
  broadcast(frame: ServerFrame, except?: WebSocket): string {
    const payload = JSON.stringify(frame);
    const urgent = !PRESENCE.has(frame.type);
    // The one left out falls out of step before the others move on.
    if (except !== undefined && this.#members.has(except)) this.#ownQueue(except);
    this.#turn.push(payload);
    if (urgent) {
      this.#urgentBroadcasts++;
      this.#inStepUrgent = true;
    }
    for (const [ws, queue] of this.#own) {
      if (ws === except || !this.#members.has(ws)) continue;
      queue.push(payload);
      if (urgent) this.#urgentOwn.add(ws);
    }
    this.#schedule(urgent);
    return payload;
  }

  /** Takes queued broadcasts back from every socket, before anyone got them. */
  retract(payloads: ReadonlySet<string>): void {
    const kept = (payload: string) => !payloads.has(payload);
    // Only what no one was sent can be retracted: #sentUpTo does not move.
    this.#turn = [...this.#turn.slice(0, this.#sentUpTo), ...this.#turn.slice(this.#sentUpTo).filter(kept)];
    // A queue left empty is due nothing urgent any more (one left with
    // presence only stays urgent: it is sent a little early, never late).
    if (this.#sentUpTo === this.#turn.length) this.#inStepUrgent = false;
    for (const [ws, queue] of this.#own) {
      const left = queue.filter(kept);
      this.#own.set(ws, left);
      if (left.length === 0) this.#urgentOwn.delete(ws);
    }
  }

  /** Queues `frame` for `ws` alone, after whatever it is already due;
   * returns its size (UTF-16 units of its JSON), for budgets. */
  send(ws: WebSocket, frame: ServerFrame): number {
    const payload = JSON.stringify(frame);
    this.#ownQueue(ws).push(payload);
    this.#urgentOwn.add(ws);
    this.#schedule(true);
    return payload.length;
  }

  /** Sends what `ws` is due, then closes it: a refusal arrives before the close. */
  close(ws: WebSocket, code?: number, reason?: string): void {
    if (this.#own.has(ws) || this.#members.has(ws)) {
      const queue = this.#ownQueue(ws);
      for (const message of this.#messagesOf(queue)) sendRaw(ws, message);
      this.#sent(ws);
    }
    try {
      if (code === undefined) ws.close();
      else ws.close(code, reason);
    } catch {
      // Already closed.
    }
  }

  /** The queue of `ws`, out of step from now on: a member in step takes
   * with it the part of the turn it is due. */
  #ownQueue(ws: WebSocket): string[] {
    let queue = this.#own.get(ws);
    if (queue === undefined) {
      queue = this.#members.has(ws) ? this.#turn.slice(this.#sentUpTo) : [];
      this.#own.set(ws, queue);
      if (queue.length > 0 && this.#inStepUrgent) this.#urgentOwn.add(ws);
    }
    return queue;
  }

  /** `ws` has been sent its queue. While members in step are still due part
   * of the turn, it stays out of step (with nothing queued): it got that
   * part already, or joined after it. */
  #sent(ws: WebSocket): void {
    if (this.#sentUpTo < this.#turn.length) this.#own.set(ws, []);
    else this.#own.delete(ws);
    this.#urgentOwn.delete(ws);
  }

  #schedule(urgent: boolean): void {
    if (urgent && !this.#urgentFlushScheduled) {
      this.#urgentFlushScheduled = true;
      // The batching rule (see "sending" above): an idle room flushes at the
      // end of this event (a microtask: workerd runs them before the next
      // event), a busy one after the events already waiting (a zero timeout).
      if (this.#busy(Date.now())) setTimeout(() => this.#flushUrgent({ waited: true }), 0);
      else queueMicrotask(() => this.#flushUrgent({ waited: false }));
    } else if (!urgent && !this.#presenceFlushScheduled) {
      this.#presenceFlushScheduled = true;
      setTimeout(() => this.flush(true), PRESENCE_DELAY_MS);
    }
  }

  #arrayOf(payloads: string[]): string {
    return payloads.length === 1 ? payloads[0]! : `[${payloads.join(",")}]`;
  }

  /** `payloads` as WebSocket messages: none, one, or several when one would
   * be over MAX_SENT_BYTES (a turn of many long messages, a welcome behind
   * them), each a JSON array, in order. */
  #messagesOf(payloads: string[]): string[] {
    if (payloads.length === 0) return [];
    let units = 0;
    for (const payload of payloads) units += payload.length + 1;
    // A UTF-16 unit is at most 3 bytes of UTF-8: most turns are decided here.
    if (units * 3 <= MAX_SENT_BYTES) return [this.#arrayOf(payloads)];
    const messages: string[] = [];
    let start = 0;
    let bytes = 2;
    for (let i = 0; i < payloads.length; i++) {
      const size = utf8Length(payloads[i]!) + 1;
      if (i > start && bytes + size > MAX_SENT_BYTES) {
        messages.push(this.#arrayOf(payloads.slice(start, i)));
        start = i;
        bytes = 2;
      }
      bytes += size;
    }
    messages.push(this.#arrayOf(payloads.slice(start)));
    return messages;
  }

  /** When the last urgent flush ran, and whether it carried more than one broadcast. */
  #urgentFlushAt = -Infinity;
  #batched = false;
  /** Until when a flush soon after the last one does not count as busy: a
   * wait that gathered nothing (a client sending as fast as its echoes come
   * back, not a burst) is not tried again for BUSY_AFTER_BATCH_MS. */
  #quietUntil = -Infinity;

  /** Whether frames are arriving faster than the room flushes them: its last
   * turn batched several broadcasts under BUSY_AFTER_BATCH_MS ago (a burst is
   * going on), or it flushed under BUSY_WINDOW_MS ago (one may be starting). */
  #busy(now: number): boolean {
    if (this.#batched) return now - this.#urgentFlushAt < BUSY_AFTER_BATCH_MS;
    return now - this.#urgentFlushAt < BUSY_WINDOW_MS && now >= this.#quietUntil;
  }

  /** The flush of urgent frames, at the end of an event or after a wait. */
  #flushUrgent({ waited }: { waited: boolean }): void {
    const now = Date.now();
    this.#batched = this.#urgentBroadcasts > 1;
    this.#urgentBroadcasts = 0;
    if (waited && !this.#batched) this.#quietUntil = now + BUSY_AFTER_BATCH_MS;
    this.#urgentFlushAt = now;
    this.flush(false);
  }

  /** Sends queued frames, one WebSocket message per socket: every socket's
   * (`all`), or only those of sockets due something urgent. */
  flush(all = true): void {
    if (all) this.#presenceFlushScheduled = false;
    else this.#urgentFlushScheduled = false;
    this.#beforeFlush();
    if (this.#sentUpTo < this.#turn.length && (all || this.#inStepUrgent)) {
      // The same WebSocket messages for every member in step: built once.
      const messages = this.#messagesOf(this.#sentUpTo === 0 ? this.#turn : this.#turn.slice(this.#sentUpTo));
      for (const ws of this.#members.keys()) {
        if (this.#own.has(ws)) continue;
        for (const message of messages) sendRaw(ws, message);
      }
      this.#sentUpTo = this.#turn.length;
      this.#inStepUrgent = false;
    }
    // Deleting the entry being visited is safe while iterating a Map or a Set.
    for (const ws of all ? this.#own.keys() : this.#urgentOwn) {
      for (const message of this.#messagesOf(this.#own.get(ws)!)) sendRaw(ws, message);
      this.#sent(ws);
    }
    if (this.#own.size === 0 && this.#sentUpTo === this.#turn.length) {
      this.#turn = [];
      this.#sentUpTo = 0;
    }
  }
}

/** The largest WebSocket message the room sends, in bytes: a client on a slow
 * link gets a long turn in pieces, and no piece near the platform's 1 MiB. */
export const MAX_SENT_BYTES = 1_048_576;

/** Frames that may wait PRESENCE_DELAY_MS to travel with others. */
const PRESENCE: ReadonlySet<ServerFrame["type"]> = new Set(["joined", "left", "renamed", "typing"]);
/** How long presence may wait for company (a tenth of what people notice). */
export const PRESENCE_DELAY_MS = 50;
/** A room that flushed under this many milliseconds ago may be busy, and waits to see… */
export const BUSY_WINDOW_MS = 2;
/** …and one whose last turn batched several broadcasts is busy for this long
 * (one whose wait gathered nothing does not wait again for this long). */
export const BUSY_AFTER_BATCH_MS = 50;

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
