/**
 * The benchmark's yardstick: the least a server speaking protocol v1 can do.
 * One Node process with `ws`, rooms in memory (no storage, no limits, no
 * validation beyond JSON.parse), every message serialised once and sent as
 * one frame to everyone. A dev tool, not part of the product: the benchmark
 * runs it beside `wrangler dev` and prints each figure's ratio to it.
 *
 *   node bench/baseline-server.ts --port 9000
 */
import { createServer } from "node:http";
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

const http = createServer((request, response) => {
  response.writeHead(request.url === "/api/health" ? 200 : 404, { "Content-Type": "application/json" });
  response.end('{"ok":true}');
});
const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });

http.on("upgrade", (request, socket, head) => {
  const name = /^\/api\/rooms\/([a-z0-9_-]+)\/websocket$/.exec(request.url ?? "")?.[1];
  if (name === undefined) return socket.destroy();
  wss.handleUpgrade(request, socket, head, (ws) => accept(ws, name));
});

function roomOf(name: string): Room {
  let room = rooms.get(name);
  if (room === undefined) rooms.set(name, (room = { members: new Map(), history: [], nextId: 1 }));
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
      ws.send(`{"type":"welcome","room":${JSON.stringify(name)},"you":${JSON.stringify(me)},"session":"","users":${users_},"history":${history}}`);
      broadcast(room, JSON.stringify({ type: "joined", user: me }), ws);
    } else if (frame.type === "message" && me !== null) {
      const message: Record<string, unknown> = { type: "message", id: room.nextId++, ts: Date.now(), from: me, text: frame.text };
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
