/**
 * The reference room of `npm run bench`: the simplest chat room this platform
 * has, to measure edge-chat against. It is the shape of Cloudflare's
 * workers-chat-demo and of most rooms written from it: one hibernating
 * Durable Object per room, a join with a name, and each message broadcast
 * inside the handler that received it (one `ws.send` per member, the frame
 * serialised once) and then stored in the object's SQLite. No validation,
 * limits, sessions or batching: only what every chat room must do.
 *
 * It speaks enough of protocol v1 for the benchmark's clients: `join` →
 * `welcome` (roster and the last 100 messages) and `joined` to the others,
 * `message` → `message` to everyone, `left` on close, `ping` → `pong`.
 */
import { DurableObject } from "cloudflare:workers";

interface User {
  id: string;
  nick: string;
}

interface ReferenceEnv {
  ROOMS: DurableObjectNamespace<ReferenceRoom>;
}

export class ReferenceRoom extends DurableObject<ReferenceEnv> {
  /** Joined sockets and their users, rebuilt from attachments after hibernation. */
  readonly #members = new Map<WebSocket, User>();
  #nextId: number;

  constructor(ctx: DurableObjectState, env: ReferenceEnv) {
    super(ctx, env);
    ctx.storage.sql.exec("CREATE TABLE IF NOT EXISTS messages (id INTEGER PRIMARY KEY, json TEXT NOT NULL)");
    this.#nextId =
      ctx.storage.sql.exec<{ last: number | null }>("SELECT max(id) AS last FROM messages").one().last ?? 0;
    for (const ws of ctx.getWebSockets()) {
      const user = ws.deserializeAttachment() as User | null;
      if (user !== null) this.#members.set(ws, user);
    }
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair("ping", "pong"));
  }

  override fetch(): Response {
    const { 0: client, 1: server } = new WebSocketPair();
    this.ctx.acceptWebSocket(server);
    server.serializeAttachment(null);
    return new Response(null, { status: 101, webSocket: client });
  }

  override webSocketMessage(ws: WebSocket, raw: string | ArrayBuffer): void {
    if (typeof raw !== "string") return;
    const frame = JSON.parse(raw) as { type?: string; nick?: unknown; text?: unknown; cid?: unknown };
    const me = this.#members.get(ws);
    if (frame.type === "join" && me === undefined) {
      const user = { id: crypto.randomUUID().slice(0, 16), nick: String(frame.nick).slice(0, 32) };
      ws.serializeAttachment(user);
      this.#members.set(ws, user);
      const history = this.ctx.storage.sql
        .exec<{ json: string }>("SELECT json FROM messages ORDER BY id DESC LIMIT 100")
        .toArray()
        .reverse();
      const users = JSON.stringify([...this.#members.values()]);
      ws.send(
        `{"type":"welcome","room":"","you":${JSON.stringify(user)},"session":"","users":${users},"history":[${history.map((row) => row.json).join(",")}]}`,
      );
      this.#broadcast(JSON.stringify({ type: "joined", user }), ws);
    } else if (frame.type === "message" && me !== undefined) {
      const id = ++this.#nextId;
      const message = {
        type: "message",
        id,
        ts: Date.now(),
        from: me,
        text: String(frame.text).slice(0, 4000),
        ...(typeof frame.cid === "string" ? { cid: frame.cid } : {}),
      };
      const payload = JSON.stringify(message);
      this.#broadcast(payload);
      this.ctx.storage.sql.exec("INSERT INTO messages (id, json) VALUES (?, ?)", id, payload);
    }
  }

  override webSocketClose(ws: WebSocket, code: number): void {
    const me = this.#members.get(ws);
    this.#members.delete(ws);
    try {
      ws.close(code === 1005 ? 1000 : code, "Bye");
    } catch {
      // already closed
    }
    if (me !== undefined) this.#broadcast(JSON.stringify({ type: "left", user: me }));
  }

  #broadcast(payload: string, except?: WebSocket): void {
    for (const ws of this.#members.keys()) {
      if (ws === except) continue;
      try {
        ws.send(payload);
      } catch {
        this.#members.delete(ws);
      }
    }
  }
}

export default {
  fetch(request: Request, env: ReferenceEnv): Response | Promise<Response> {
    const path = new URL(request.url).pathname;
    if (path === "/api/health") return Response.json({ ok: true });
    const room = /^\/api\/rooms\/([a-z0-9_-]{1,64})\/websocket$/.exec(path)?.[1];
    if (room === undefined || request.headers.get("Upgrade") !== "websocket")
      return new Response("Not found", { status: 404 });
    return env.ROOMS.getByName(room).fetch(request);
  },
} satisfies ExportedHandler<ReferenceEnv>;
