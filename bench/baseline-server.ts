/**
 * The benchmark's yardstick: the least a server speaking protocol v1 can do.
 * One Node process with `ws`, rooms in memory (no storage, no limits, no
 * validation beyond JSON.parse), every message serialised once and sent as
 * one frame to everyone. Files are streamed to a temporary folder and back,
 * with no checks at all, and announced like messages. A dev tool, not part of the product: the benchmark
 * runs it beside `wrangler dev` and prints each figure's ratio to it.
 *
 *   node bench/baseline-server.ts --port 9000
 */
import { createReadStream, createWriteStream, mkdtempSync, rmSync } from "node:fs";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import { parseArgs } from "node:util";
import { WebSocketServer, type WebSocket } from "ws";

interface User {
  id: string;
  nick: string;
}

interface Room {
  members: Map<WebSocket, User>;
  history: string[];
  nextId: number;
}

const HISTORY_ON_JOIN = 100;
const HISTORY_KEPT = 10_000;

const { values } = parseArgs({ options: { port: { type: "string", default: "9000" } } });
const rooms = new Map<string, Room>();
let users = 0;

const files = mkdtempSync(join(tmpdir(), "edge-chat-baseline-files-"));
const sizes = new Map<string, number>();
for (const signal of ["SIGTERM", "SIGINT"] as const) {
  process.on(signal, () => {
    rmSync(files, { recursive: true, force: true });
    process.exit(0);
  });
}

const http = createServer((request, response) => {
  const url = new URL(request.url ?? "/", "http://localhost");
  const upload = /^\/api\/rooms\/([a-z0-9_-]+)\/files$/.exec(url.pathname);
  const download = /^\/api\/rooms\/[a-z0-9_-]+\/files\/(f\d+)$/.exec(url.pathname);
  if (request.method === "POST" && upload !== null)
    return void receiveFile(request, response, upload[1]!, url.searchParams.get("name") ?? "file");
  if (request.method === "GET" && download !== null && sizes.has(download[1]!)) {
    response.writeHead(200, {
      "Content-Type": "application/octet-stream",
      "Content-Length": String(sizes.get(download[1]!)),
    });
    return void createReadStream(join(files, download[1]!)).pipe(response);
  }
  response.writeHead(url.pathname === "/api/health" ? 200 : 404, { "Content-Type": "application/json" });
  response.end('{"ok":true}');
});

let fileCount = 0;

/** A file to disk, then a message about it to the room (the uploader is not checked). */
async function receiveFile(
  request: IncomingMessage,
  response: ServerResponse,
  name: string,
  fileName: string,
): Promise<void> {
  const id = `f${++fileCount}`;
  await pipeline(request, createWriteStream(join(files, id)));
  const size = Number(request.headers["content-length"] ?? 0);
  sizes.set(id, size);
  const room = roomOf(name);
  const file = { id, name: fileName, size, type: "application/octet-stream", url: `/api/rooms/${name}/files/${id}` };
  const payload = JSON.stringify({
    type: "message",
    id: room.nextId++,
    ts: Date.now(),
    from: { id: "u0", nick: "upload" },
    text: "",
    file,
  });
  room.history.push(payload);
  broadcast(room, payload);
  response.writeHead(201, { "Content-Type": "application/json" });
  response.end(JSON.stringify({ file }));
}
const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });

http.on("upgrade", (request, socket, head) => {
  const name = /^\/api\/rooms\/([a-z0-9_-]+)\/websocket$/.exec(request.url ?? "")?.[1];
  if (name === undefined) return socket.destroy();
  wss.handleUpgrade(request, socket, head, (ws) => accept(ws, name));
});

function roomOf(name: string): Room {
  let room = rooms.get(name);
  if (room === undefined) {
    room = { members: new Map(), history: [], nextId: 1 };
    rooms.set(name, room);
  }
  return room;
}

function broadcast(room: Room, payload: string, except?: WebSocket): void {
  for (const ws of room.members.keys()) if (ws !== except) ws.send(payload);
}

function accept(ws: WebSocket, name: string): void {
  const room = roomOf(name);
  let me: User | null = null;
  ws.on("message", (data, isBinary) => {
    const raw = data.toString();
    if (isBinary) return;
    if (raw === "ping") return ws.send("pong");
    const frame = JSON.parse(raw) as { type?: string; nick?: string; text?: string; cid?: string };
    if (frame.type === "join" && me === null) {
      me = { id: `u${++users}`, nick: String(frame.nick) };
      room.members.set(ws, me);
      const history = `[${room.history.slice(-HISTORY_ON_JOIN).join(",")}]`;
      const users_ = JSON.stringify([...room.members.values()]);
      ws.send(
        `{"type":"welcome","room":${JSON.stringify(name)},"you":${JSON.stringify(me)},"session":"","users":${users_},"history":${history}}`,
      );
      broadcast(room, JSON.stringify({ type: "joined", user: me }), ws);
    } else if (frame.type === "message" && me !== null) {
      const message: Record<string, unknown> = {
        type: "message",
        id: room.nextId++,
        ts: Date.now(),
        from: me,
        text: frame.text,
      };
      if (frame.cid !== undefined) message.cid = frame.cid;
      const payload = JSON.stringify(message);
      room.history.push(payload);
      if (room.history.length > HISTORY_KEPT) room.history.splice(0, room.history.length - HISTORY_KEPT);
      broadcast(room, payload);
    }
  });
  ws.on("close", () => {
    if (me === null) return;
    room.members.delete(ws);
    broadcast(room, JSON.stringify({ type: "left", user: me }));
  });
}

http.listen(Number(values.port), "127.0.0.1");
