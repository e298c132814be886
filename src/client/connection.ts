/**
 * One person's connection to a room: the WebSocket, the join, and getting
 * back in after the network drops, without missing or repeating a message.
 *
 * After the first welcome every close is followed by a reconnect (1 s, then
 * doubling up to 30 s, with jitter) that joins again with the session token
 * and the id of the last message seen, so the room hands back the same
 * identity and exactly the messages that were missed.
 */
import {
  CLOSE_SESSION_TAKEN_OVER,
  PING,
  parseServerMessage,
  type ClientFrame,
  type JoinFrame,
  type ServerFrame,
} from "../protocol";

export type Status = "connecting" | "online" | "reconnecting" | "offline";

export interface ConnectionHandlers {
  /** Every frame from the server, messages already seen left out. */
  frame(frame: ServerFrame): void;
  /** The socket's state ("online": open, joined or not). `detail.retryAt`
   * (ms since the epoch) is set while "reconnecting" waits for its next try;
   * `detail.reason` says why the connection is offline for good, when it is. */
  status(status: Status, detail?: StatusDetail): void;
}

export interface StatusDetail {
  retryAt?: number;
  reason?: string;
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
  /** The id of the newest message seen; undefined until the first welcome. */
  #lastId: number | undefined;
  #joined = false;
  #retries = 0;
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  #pingTimer: ReturnType<typeof setInterval> | undefined;
  /** A ping went out and nothing has come back since. */
  #awaitingReply = false;

  constructor(url: string, handlers: ConnectionHandlers) {
    this.#url = url;
    this.#on = handlers;
    // Back on the network, or back on the tab: retry now rather than at the
    // end of the backoff.
    addEventListener("online", () => this.retryNow());
    document.addEventListener("visibilitychange", () => {
      if (!document.hidden) this.retryNow();
    });
  }

  /** Skips the rest of the backoff when a reconnect is waiting; else nothing. */
  retryNow(): void {
    if (this.#retryTimer !== undefined) this.#open();
  }

  /** True between a welcome and the next close. */
  get joined(): boolean {
    return this.#joined;
  }

  /** Joins as `nick`: the first time, or again after a refused join. */
  join(nick: string): void {
    this.#nick = nick;
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

  #open(): void {
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
  }

  #sendJoin(): void {
    const join: JoinFrame = { type: "join", nick: this.#nick };
    if (this.#lastId !== undefined) join.since = this.#lastId;
    if (this.#session !== undefined) join.session = this.#session;
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
        const seen = this.#lastId;
        const history = seen === undefined ? frame.history : frame.history.filter((message) => message.id > seen);
        this.#lastId = Math.max(seen ?? 0, ...history.map((message) => message.id));
        this.#on.frame({ ...frame, history });
      } else if (frame.type === "message") {
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
      this.#on.status("offline", { reason: "This chat was opened again somewhere else. Reload the page to continue here." });
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
