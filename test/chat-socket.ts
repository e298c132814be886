/**
 * A chat client for tests, over any standard WebSocket (the Workers runtime's
 * or Node's): it queues every frame received so that a test can await them in
 * order, and fails fast, with what it got instead, when they do not come.
 */
import { parseServerMessage, type ServerFrame, type WelcomeFrame } from "../src/shared/protocol";

export interface Closed {
  code: number;
  reason: string;
}

export class ChatSocket {
  readonly ws: WebSocket;
  readonly #frames: ServerFrame[] = [];
  readonly #waiters = new Set<() => void>();
  closed: Closed | null = null;
  /** Every WebSocket message received, unparsed, in order. */
  readonly raw: string[] = [];

  /** `ws` must be open (or, in Workers, accepted). */
  constructor(ws: WebSocket) {
    this.ws = ws;
    ws.addEventListener("message", (event) => {
      this.raw.push(event.data as string);
      this.#frames.push(...parseServerMessage(event.data as string));
      this.#wake();
    });
    ws.addEventListener("close", (event) => {
      this.closed = { code: event.code, reason: event.reason };
      this.#wake();
    });
  }

  send(frame: object | string): void {
    this.ws.send(typeof frame === "string" ? frame : JSON.stringify(frame));
  }

  async joinAs(nick: string, extra: Record<string, unknown> = {}): Promise<WelcomeFrame> {
    this.send({ type: "join", nick, ...extra });
    return this.expect("welcome");
  }

  #wake(): void {
    for (const waiter of [...this.#waiters]) waiter();
  }

  /** Waits for something (a frame or the close) to arrive, up to `ms`. */
  async #wait(ms: number): Promise<boolean> {
    if (this.#frames.length > 0 || this.closed !== null) return true;
    return new Promise((resolve) => {
      const waiter = () => {
        clearTimeout(timer);
        this.#waiters.delete(waiter);
        resolve(true);
      };
      const timer = setTimeout(() => {
        this.#waiters.delete(waiter);
        resolve(false);
      }, ms);
      this.#waiters.add(waiter);
    });
  }

  /** The next frame, whatever it is. */
  async next(ms = 2000): Promise<ServerFrame> {
    while (this.#frames.length === 0) {
      if (this.closed !== null) throw new Error(`socket closed (${this.closed.code}) while waiting for a frame`);
      if (!(await this.#wait(ms))) throw new Error(`no frame within ${ms} ms`);
    }
    return this.#frames.shift()!;
  }

  /** The next frame, which must be of `type`. */
  async expect<T extends ServerFrame["type"]>(type: T, ms = 2000): Promise<Extract<ServerFrame, { type: T }>> {
    const frame = await this.next(ms);
    if (frame.type !== type) throw new Error(`expected a ${type} frame, got ${JSON.stringify(frame)}`);
    return frame as Extract<ServerFrame, { type: T }>;
  }

  /** Asserts that no frame arrives within `ms`. */
  async expectSilence(ms = 150): Promise<void> {
    if (await this.#wait(ms)) {
      if (this.#frames.length > 0) throw new Error(`expected no frame, got ${JSON.stringify(this.#frames[0])}`);
    }
  }

  /** Resolves when the socket is closed, with the code and reason seen. */
  async closeEvent(ms = 2000): Promise<Closed> {
    const deadline = Date.now() + ms;
    while (this.closed === null) {
      // Frames still arriving before the close are dropped here.
      this.#frames.length = 0;
      if (!(await this.#wait(Math.max(1, deadline - Date.now())))) throw new Error(`not closed within ${ms} ms`);
    }
    return this.closed;
  }

  close(code = 1000, reason = "bye"): void {
    this.ws.close(code, reason);
  }
}
