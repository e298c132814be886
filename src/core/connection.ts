/**
 * One person's connection to a room: the WebSocket, the join, and getting
 * back in after the network drops, without missing or repeating a message.
 *
 * After the first welcome every close is followed by a reconnect (1 s, then
 * doubling up to 30 s, with jitter) that joins again with the session token
 * and the id of the last entry of the room's log seen, so the room hands
 * back the same identity and exactly what was missed (messages, deletions).
 *
 * Platform-neutral: it needs only a standard WebSocket and timers, so the
 * browser page and the terminal client (cli/, on Node's global WebSocket)
 * share it. Platform events that make an early retry worthwhile (the browser
 * back online, the tab visible again) stay with the caller, which calls
 * retryNow().
 */
import {
  CLOSE_KICKED,
  CLOSE_SESSION_TAKEN_OVER,
  PING,
  isLogEntry,
  parseServerMessage,
  type ClientFrame,
  type JoinFrame,
  type ServerFrame,
} from "../shared/protocol";

export type Status = "connecting" | "online" | "reconnecting" | "offline";

export interface ConnectionHandlers {
  /** Every frame from the server, log entries already seen left out. */
  frame(frame: ServerFrame): void;
  /** The socket's state ("online": open, joined or not). `detail.retryAt`
   * (ms since the epoch) is set while "reconnecting" waits for its next try;
   * `detail.takenOver` says the connection is offline for good because the
   * same identity joined on another socket. */
  status(status: Status, detail?: StatusDetail): void;
}

export interface StatusDetail {
  retryAt?: number;
  /** Closed with 4001: the session was taken over elsewhere. Not retried,
   * or the two would take it from each other forever. */
  takenOver?: true;
  /** Closed with 4003: a moderator removed us (the `kicked` frame said
   * why). Not retried: the room would refuse us anyway. */
  removed?: true;
}

const FIRST_RETRY_MS = 1_000;
const MAX_RETRY_MS = 30_000;
const PING_INTERVAL_MS = 30_000;

export class ChatConnection {
  readonly #url: string;
  readonly #on: ConnectionHandlers;
  #ws: WebSocket | null = null;
  #nick = "";
  #session: string | undefined;
  /** The room's owner key, sent with joins until a welcome: from then on
   * the identity is the owner, and the session says so. */
  #ownerKey: string | undefined;
  /** The id of the newest log entry seen; undefined until the first welcome. */
  #lastId: number | undefined;
  #joined = false;
  #retries = 0;
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  #pingTimer: ReturnType<typeof setInterval> | undefined;
  /** A ping went out and nothing has come back since. */
  #awaitingReply = false;
  /** close() was called: never open again. */
  #closing = false;

  constructor(url: string, handlers: ConnectionHandlers) {
    this.#url = url;
    this.#on = handlers;
  }

  /** The session token of the last welcome: it authorises uploads. */
  get session(): string | undefined {
    return this.#session;
  }

  /** Skips the rest of the backoff when a reconnect is waiting; else nothing. */
  retryNow(): void {
    if (this.#retryTimer !== undefined) this.#open();
  }

  /** True between a welcome and the next close. */
  get joined(): boolean {
    return this.#joined;
  }

  /** Joins as `nick` (as the owner, with `ownerKey`): the first time, or
   * again after a refused join. */
  join(nick: string, ownerKey?: string): void {
    if (this.#closing) return;
    this.#nick = nick;
    this.#ownerKey = ownerKey;
    if (this.#ws === null) this.#open();
    else if (this.#ws.readyState === WebSocket.OPEN) this.#sendJoin();
    // Still connecting: the join goes out on open.
  }

  /** Sends a frame of a joined connection; false when there is none right now. */
  send(frame: ClientFrame): boolean {
    if (!this.#joined || this.#ws?.readyState !== WebSocket.OPEN) return false;
    this.#ws.send(JSON.stringify(frame));
    return true;
  }

  /** A rename went through: rejoin under the new nickname from now on. */
  renamed(nick: string): void {
    this.#nick = nick;
  }

  /**
   * Leaves for good: no more reconnects, and a proper close handshake (1000
   * by default, so the room tells the others "left" at once). Resolves when
   * the socket has closed, or after `timeoutMs` if the server never answers.
   */
  close(code = 1000, reason = "bye", timeoutMs = 2_000): Promise<void> {
    this.#closing = true;
    clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
    clearInterval(this.#pingTimer);
    const ws = this.#ws;
    // From here on the socket's events are ignored (see #open).
    this.#ws = null;
    this.#joined = false;
    if (ws === null || ws.readyState === WebSocket.CLOSED) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      ws.addEventListener("close", () => {
        clearTimeout(timer);
        resolve();
      });
      ws.close(code, reason);
    });
  }

  #open(): void {
    if (this.#closing) return;
    clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
    this.#on.status(this.#lastId === undefined ? "connecting" : "reconnecting");
    const ws = new WebSocket(this.#url);
    this.#ws = ws;
    // Events of a socket given up on (see #drop) are ignored.
    ws.addEventListener("open", () => {
      if (ws !== this.#ws) return;
      this.#on.status("online");
      this.#sendJoin();
      this.#awaitingReply = false;
      this.#pingTimer = setInterval(() => this.#ping(), PING_INTERVAL_MS);
    });
    ws.addEventListener("message", (event) => {
      if (ws === this.#ws && typeof event.data === "string") this.#receive(event.data);
    });
    ws.addEventListener("close", (event) => {
      if (ws === this.#ws) this.#closed(event.code);
    });
    // An error ends the socket. Browsers follow it with "close" (ignored
    // then: the socket is no longer ours), but Node 22's WebSocket fires
    // only "error" when the connection is refused, which would wait forever.
    ws.addEventListener("error", () => {
      if (ws === this.#ws) this.#drop();
    });
  }

  #sendJoin(): void {
    const join: JoinFrame = { type: "join", nick: this.#nick };
    if (this.#lastId !== undefined) join.since = this.#lastId;
    if (this.#session !== undefined) join.session = this.#session;
    if (this.#ownerKey !== undefined) join.ownerKey = this.#ownerKey;
    this.#ws?.send(JSON.stringify(join));
  }

  #receive(data: string): void {
    this.#awaitingReply = false;
    let frames: ServerFrame[];
    try {
      frames = parseServerMessage(data);
    } catch {
      return; // Not JSON: nothing a client can act on.
    }
    for (const frame of frames) {
      if (frame.type === "welcome") {
        this.#joined = true;
        this.#retries = 0;
        this.#session = frame.session;
        this.#ownerKey = undefined;
        const seen = this.#lastId;
        const history = seen === undefined ? frame.history : frame.history.filter((entry) => entry.id > seen);
        this.#lastId = Math.max(seen ?? 0, ...history.map((entry) => entry.id));
        this.#on.frame({ ...frame, history });
      } else if (isLogEntry(frame)) {
        // Every entry of the room's log counts for `since`: messages, deletions, clears.
        if (this.#lastId !== undefined && frame.id <= this.#lastId) continue;
        this.#lastId = frame.id;
        this.#on.frame(frame);
      } else {
        // The identity behind the session went to someone else: the next join
        // must be a fresh one, under another nickname.
        if (frame.type === "error" && frame.code === "nick_taken" && !this.#joined) this.#session = undefined;
        this.#on.frame(frame);
      }
    }
  }

  #ping(): void {
    // Nothing back since the last ping, not even its pong: the connection is
    // dead without a close event (a sleeping laptop, a lost network).
    if (this.#awaitingReply) return this.#drop();
    this.#awaitingReply = true;
    this.#ws?.send(PING);
  }

  /** Gives up on the current socket at once, without waiting for its close. */
  #drop(): void {
    const ws = this.#ws;
    this.#closed(1006);
    ws?.close();
  }

  #closed(code: number): void {
    clearInterval(this.#pingTimer);
    this.#ws = null;
    this.#joined = false;
    if (code === CLOSE_SESSION_TAKEN_OVER) {
      this.#on.status("offline", { takenOver: true });
    } else if (code === CLOSE_KICKED) {
      this.#on.status("offline", { removed: true });
    } else if (this.#lastId === undefined) {
      // Never got in: the page asks again rather than retrying forever.
      this.#on.status("offline");
    } else {
      const ceiling = Math.min(MAX_RETRY_MS, FIRST_RETRY_MS * 2 ** this.#retries);
      this.#retries++;
      // Jitter, so that a room full of clients does not come back all at once.
      const delay = ceiling / 2 + (Math.random() * ceiling) / 2;
      this.#retryTimer = setTimeout(() => this.#open(), delay);
      this.#on.status("reconnecting", { retryAt: Date.now() + delay });
    }
  }
}
