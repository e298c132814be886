/**
 * A scripted stand-in for a room, for what the real one never does: send
 * escape sequences (a malicious or broken server), drop a connection at a
 * chosen moment, or report the close code a client sent. A minimal RFC 6455
 * server over node:http: unfragmented text and close frames, which is all a
 * chat client sends. Loopback only.
 */
import { createHash } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { Socket } from "node:net";

const GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

function encode(opcode: number, payload: Buffer): Buffer {
  const length = payload.length;
  const header = length < 126 ? Buffer.alloc(2) : length < 65536 ? Buffer.alloc(4) : Buffer.alloc(10);
  header[0] = 0x80 | opcode; // FIN, unmasked (server to client)
  if (length < 126) header[1] = length;
  else if (length < 65536) {
    header[1] = 126;
    header.writeUInt16BE(length, 2);
  } else {
    header[1] = 127;
    header.writeBigUInt64BE(BigInt(length), 2);
  }
  return Buffer.concat([header, payload]);
}

/** One client connection, as the room sees it. */
export class FakeSocket {
  readonly #socket: Socket;
  readonly #frames: unknown[] = [];
  #wake: (() => void) | null = null;
  #buffer = Buffer.alloc(0);
  /** The code of the client's close frame; null until one came. */
  closeCode: number | null = null;
  readonly ended: Promise<void>;

  constructor(socket: Socket) {
    this.#socket = socket;
    this.ended = new Promise((resolve) => socket.once("close", () => resolve()));
    socket.on("data", (chunk: Buffer) => this.#data(chunk));
    socket.on("close", () => this.#wake?.());
    socket.on("error", () => {});
  }

  /** Sends a frame (an object, as JSON) or raw text. */
  send(frame: object | string): void {
    const text = typeof frame === "string" ? frame : JSON.stringify(frame);
    this.#socket.write(encode(0x1, Buffer.from(text, "utf8")));
  }

  /** The next frame from the client (JSON-parsed; "ping" is answered and skipped). */
  async next(ms = 5_000): Promise<Record<string, unknown>> {
    const deadline = Date.now() + ms;
    while (this.#frames.length === 0) {
      if (this.#socket.destroyed) throw new Error("the client's connection closed while waiting for a frame");
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no frame from the client within ${ms} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    return this.#frames.shift() as Record<string, unknown>;
  }

  /** Starts a close handshake from the room's side (e.g. 4001, taken over). */
  close(code: number, reason = ""): void {
    const payload = Buffer.alloc(2 + Buffer.byteLength(reason));
    payload.writeUInt16BE(code, 0);
    payload.write(reason, 2);
    this.#socket.write(encode(0x8, payload));
  }

  /** Drops the TCP connection without a close handshake, like a network failure. */
  drop(): void {
    this.#socket.destroy();
  }

  #data(chunk: Buffer): void {
    this.#buffer = Buffer.concat([this.#buffer, chunk]);
    for (;;) {
      const buffer = this.#buffer;
      if (buffer.length < 2) return;
      const opcode = buffer[0]! & 0x0f;
      let length = buffer[1]! & 0x7f;
      let offset = 2;
      if (length === 126) {
        if (buffer.length < 4) return;
        length = buffer.readUInt16BE(2);
        offset = 4;
      } else if (length === 127) {
        if (buffer.length < 10) return;
        length = Number(buffer.readBigUInt64BE(2));
        offset = 10;
      }
      // Clients always mask (RFC 6455 5.1).
      const mask = buffer.subarray(offset, offset + 4);
      offset += 4;
      if (buffer.length < offset + length) return;
      const payload = Buffer.from(buffer.subarray(offset, offset + length));
      for (let i = 0; i < payload.length; i++) payload[i]! ^= mask[i % 4]!;
      this.#buffer = buffer.subarray(offset + length);
      this.#frame(opcode, payload);
    }
  }

  #frame(opcode: number, payload: Buffer): void {
    if (opcode === 0x8) {
      // (A client's answer to our close() lands here too; it repeats our code.)
      this.closeCode = payload.length >= 2 ? payload.readUInt16BE(0) : 1005;
      // Answer with the same code, as the real room does, and hang up.
      this.#socket.end(encode(0x8, payload.subarray(0, 2)));
      return;
    }
    if (opcode === 0x9) return void this.#socket.write(encode(0xa, payload));
    if (opcode !== 0x1) return;
    const text = payload.toString("utf8");
    if (text === "ping") return this.send("pong");
    this.#frames.push(JSON.parse(text));
    this.#wake?.();
  }
}

export class FakeRoom {
  readonly #server: Server;
  readonly #waiting: ((socket: FakeSocket) => void)[] = [];
  readonly #arrived: FakeSocket[] = [];
  readonly #all: FakeSocket[] = [];
  readonly url: string;

  private constructor(server: Server, url: string) {
    this.#server = server;
    this.url = url;
    server.on("upgrade", (request, socket: Socket) => {
      const accept = createHash("sha1").update(`${request.headers["sec-websocket-key"]}${GUID}`).digest("base64");
      socket.write(
        `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`,
      );
      const fake = new FakeSocket(socket);
      this.#all.push(fake);
      const waiter = this.#waiting.shift();
      if (waiter !== undefined) waiter(fake);
      else this.#arrived.push(fake);
    });
  }

  /** Listens on a free loopback port; `url` is the room page's URL. */
  static async start(room = "fake"): Promise<FakeRoom> {
    const server = createServer((_, response) => response.writeHead(426).end());
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const address = server.address();
    if (typeof address !== "object" || address === null) throw new Error("no address");
    return new FakeRoom(server, `http://127.0.0.1:${address.port}/r/${room}`);
  }

  /** The next client connection, within `ms`. */
  async connection(ms = 5_000): Promise<FakeSocket> {
    const arrived = this.#arrived.shift();
    if (arrived !== undefined) return arrived;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no connection within ${ms} ms`)), ms);
      this.#waiting.push((socket) => {
        clearTimeout(timer);
        resolve(socket);
      });
    });
  }

  async close(): Promise<void> {
    // Upgraded sockets are no longer the HTTP server's: drop them here.
    for (const socket of this.#all) socket.drop();
    this.#server.closeAllConnections();
    await new Promise((resolve) => this.#server.close(resolve));
  }
}
