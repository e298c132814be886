/**
 * The load generator's client: a WebSocket (`ws`) speaking protocol v1, as
 * lean as it can be so that one process can drive thousands. It reads both
 * forms a server may send: one frame, or a JSON array of frames.
 */
import WebSocket from "ws";

export interface BenchUser {
  id: string;
  nick: string;
}

/** A chat message as the benchmark reads it: its text is the send time. */
export interface BenchMessage {
  id: number;
  from: BenchUser;
  text: string;
  cid?: string;
}

type Frame =
  | { type: "welcome"; you: BenchUser; session: string; users: BenchUser[]; history: BenchMessage[] }
  | ({ type: "message" } & BenchMessage)
  | { type: "joined" | "left"; user: BenchUser }
  | { type: "error"; code: string; message: string }
  | { type: string };

export class BenchClient {
  readonly ws: WebSocket;
  me: BenchUser | null = null;
  /** The welcome's session token (uploads need it). */
  session = "";
  /** People this client knows to be in the room: the welcome's roster, plus joins, minus leaves. */
  roster = 0;
  /** Messages received (live, not history). */
  received = 0;
  historyOnJoin = 0;
  errors: string[] = [];
  /** Called for every live message, with the time it arrived (performance.now()). */
  onMessage: ((client: BenchClient, message: BenchMessage, at: number) => void) | null = null;
  #welcome: (() => void) | null = null;

  private constructor(ws: WebSocket) {
    this.ws = ws;
    ws.on("message", (data) => this.#receive(data.toString()));
  }

  /** `headers`: e.g. CF-Connecting-IP, for a client from an address of its own. */
  static open(url: string, headers: Record<string, string> = {}): Promise<BenchClient> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, { perMessageDeflate: false, headers });
      let client: BenchClient | null = null;
      ws.once("open", () => {
        client = new BenchClient(ws);
        resolve(client);
      });
      // Every error is kept (and fails the connect when it comes first), never thrown.
      ws.on("error", (error) => {
        if (client === null) reject(new Error(`cannot connect to ${url}: ${error.message}`));
        else client.errors.push(`socket: ${error.message}`);
      });
    });
  }

  /** Opens a socket and joins; resolves with the client and the time from connect to welcome (ms). */
  static async join(
    url: string,
    nick: string,
    headers: Record<string, string> = {},
  ): Promise<{ client: BenchClient; ms: number }> {
    const started = performance.now();
    const client = await BenchClient.open(url, headers);
    const welcomed = new Promise<void>((resolve) => (client.#welcome = resolve));
    client.ws.send(JSON.stringify({ type: "join", nick }));
    const timeout = new Promise<never>((_, reject) =>
      setTimeout(() => reject(new Error(`${nick}: no welcome in 60 s`)), 60_000).unref(),
    );
    await Promise.race([welcomed, timeout]);
    return { client, ms: performance.now() - started };
  }

  /** Sends a message whose text is the send time, for latency at every receiver. */
  send(cid: string): void {
    this.ws.send(`{"type":"message","text":"${performance.now().toFixed(3)}","cid":"${cid}"}`);
  }

  close(): Promise<void> {
    if (this.ws.readyState === WebSocket.CLOSED) return Promise.resolve();
    return new Promise((resolve) => {
      this.ws.once("close", () => resolve());
      this.ws.close(1000);
    });
  }

  #receive(raw: string): void {
    if (raw === "pong") return;
    const at = performance.now();
    const value = JSON.parse(raw) as Frame | Frame[];
    for (const frame of Array.isArray(value) ? value : [value]) this.#frame(frame, at);
  }

  #frame(frame: Frame, at: number): void {
    if ("user" in frame) {
      this.roster += frame.type === "joined" ? 1 : -1;
    } else if (frame.type === "message") {
      this.received++;
      this.onMessage?.(this, frame as BenchMessage, at);
    } else if ("you" in frame) {
      this.me = frame.you;
      this.session = frame.session;
      this.roster = frame.users.length;
      this.historyOnJoin = frame.history.length;
      this.#welcome?.();
    } else if (frame.type === "error" && "code" in frame) {
      this.errors.push(`${frame.code}: ${frame.message}`);
    }
  }
}
