/**
 * The real `wrangler dev` for tests (scripts/dev-server.ts, shared with the
 * benchmark), and a test client for a room of it.
 */
import { ChatSocket } from "../chat-socket";
import type { DevServer } from "../../scripts/dev-server.ts";

export * from "../../scripts/dev-server.ts";

/** A test client in `room` of a running server, over Node's WebSocket, once it is open. */
export async function openRoom(server: Pick<DevServer, "url" | "output">, room: string): Promise<ChatSocket> {
  const ws = new WebSocket(`${server.url.replace(/^http/, "ws")}/api/rooms/${room}/websocket`);
  await new Promise((resolve, reject) => {
    ws.addEventListener("open", resolve, { once: true });
    ws.addEventListener("error", () => reject(new Error(`cannot connect to room ${room}:\n${server.output()}`)), {
      once: true,
    });
  });
  return new ChatSocket(ws as unknown as globalThis.WebSocket);
}
