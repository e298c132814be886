/**
 * The terminal client (the built dist/edge-chat.mjs) against the real
 * `wrangler dev`, with piped stdio as scripts use it: two clients chatting,
 * piped lines delivered exactly once and in order, refusals and their exit
 * codes, and --json. A protocol-level test client (ChatSocket over Node's
 * WebSocket) checks what actually reached the room.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { ChatSocket } from "../chat-socket";
import { freePort, openRoom, startDevServer, type DevServer } from "../e2e/wrangler-dev";
import { CliProcess, chatLines } from "./run-cli";
import type { MessageFrame, ServerFrame } from "../../src/protocol";
import { rmSync } from "node:fs";

let server: DevServer;
const clients: CliProcess[] = [];
const sockets: ChatSocket[] = [];
let counter = 0;
const freshRoom = () => `cli-${Date.now().toString(36)}-${counter++}`;
const pageUrl = (room: string) => `${server.url}/r/${room}`;

function cli(args: string[], env: Record<string, string | undefined> = {}): CliProcess {
  const client = new CliProcess(args, env);
  clients.push(client);
  return client;
}

async function watcher(room: string, nick = "Watcher"): Promise<ChatSocket> {
  const socket = await openRoom(server, room);
  sockets.push(socket);
  await socket.joinAs(nick);
  return socket;
}

/** Frames until `count` messages came, within `ms`; the other frames are kept too. */
async function messages(socket: ChatSocket, count: number, ms = 15_000): Promise<{ messages: MessageFrame[]; frames: ServerFrame[] }> {
  const deadline = Date.now() + ms;
  const frames: ServerFrame[] = [];
  const found: MessageFrame[] = [];
  while (found.length < count) {
    const frame = await socket.next(Math.max(1, deadline - Date.now()));
    frames.push(frame);
    if (frame.type === "message") found.push(frame);
  }
  return { messages: found, frames };
}

beforeAll(async () => {
  server = await startDevServer();
}, 90_000);

afterEach(() => {
  for (const client of clients.splice(0)) client.kill();
  for (const socket of sockets.splice(0)) if (socket.closed === null) socket.close();
});

afterAll(async () => {
  await server?.stop();
  if (server !== undefined) rmSync(server.stateDir, { recursive: true, force: true });
});

describe("terminal client", () => {
  it("lets two terminal clients chat: messages, actions, renames, the roster, leaving", async () => {
    const room = freshRoom();
    const ana = cli([pageUrl(room), "--nick", "Ana"]);
    await ana.waitFor(`You joined #${room} as Ana. Nobody else is here.`);
    // The socket URL works as well as the page's.
    const bo = cli([`${server.url.replace("http", "ws")}/api/rooms/${room}/websocket`, "-n", "Bo"]);
    await bo.waitFor(`You joined #${room} as Bo. Also here: Ana.`);
    await ana.waitFor("* Bo joined");

    ana.write("hello Bo", "  ", "second line");
    await bo.waitFor("Ana: second line");
    bo.write("/me waves", "/nick Bob");
    await ana.waitFor("* Bo is now Bob");
    ana.write("/who");
    await ana.waitFor(`2 in #${room}: Ana (you), Bob`);
    bo.write("hi Ana");
    await ana.waitFor("Bob: hi Ana");

    ana.end();
    expect(await ana.exit()).toEqual({ code: 0, signal: null });
    await bo.waitFor("* Ana left");
    bo.end();
    expect(await bo.exit()).toEqual({ code: 0, signal: null });

    const seenByBo = chatLines(bo.stdout);
    expect(seenByBo).toEqual(expect.arrayContaining(["Ana: hello Bo", "Ana: second line", "* Bo waves", "* You are now Bob", "Bob: hi Ana", "* Ana left"]));
    expect(chatLines(ana.stdout)).toEqual(expect.arrayContaining(["* Bo waves", "* Bo is now Bob"]));
    // The blank line was not sent; the order is the room's.
    expect(seenByBo.filter((line) => line.startsWith("Ana:"))).toEqual(["Ana: hello Bo", "Ana: second line"]);
    // Not a terminal: no escape codes at all, and nothing on stderr.
    for (const client of [ana, bo]) {
      expect(client.stdout).not.toContain("\x1b");
      expect(client.stderr).toBe("");
    }
  });

  it("sends piped lines once each, in order, paced under the rate limit, and exits 0 once all are confirmed", async () => {
    const room = freshRoom();
    const watching = await watcher(room);
    // Twice the burst of 10: without pacing, some would be refused.
    const lines = Array.from({ length: 20 }, (_, i) => `deploy step ${i + 1} done`);
    const ci = cli([pageUrl(room), "--nick", "ci"]);
    ci.end(...lines.slice(0, 10), "", ...lines.slice(10));
    const started = Date.now();
    expect(await ci.exit(20_000)).toEqual({ code: 0, signal: null });
    // The pace is 8 at once, then 4 per second: the last goes out after ~3 s.
    expect(Date.now() - started).toBeGreaterThan(2_500);
    expect(ci.stderr).toBe("");

    const { messages: got, frames } = await messages(watching, 20);
    expect(got.map((message) => message.text)).toEqual(lines);
    expect(new Set(got.map((message) => message.cid)).size).toBe(20);
    expect(got.every((message) => message.from.nick === "ci" && message.cid !== undefined)).toBe(true);
    // Exited after the last echo, with a proper close: "left" follows, and nothing else.
    expect(frames[0]).toMatchObject({ type: "joined", user: { nick: "ci" } });
    expect(await watching.expect("left", 5_000)).toMatchObject({ user: { nick: "ci" } });
    await watching.expectSilence(300);
  });

  it("exits 1 with the room's reason when a piped line is refused", async () => {
    const room = freshRoom();
    const ci = cli([pageUrl(room), "--nick", "ci"]);
    ci.end("fine", "x".repeat(4001), "never sent");
    expect((await ci.exit()).code).toBe(1);
    expect(ci.stderr).toContain("not sent");
    expect(ci.stderr).toContain("A message is at most 4000 characters.");
    expect(chatLines(ci.stdout)).toContain("ci: fine");
    expect(ci.stdout).not.toContain("never sent");
  });

  it("exits 3 when the nickname is taken and nobody can be asked for another", async () => {
    const room = freshRoom();
    await watcher(room, "Kartik");
    const client = cli([pageUrl(room), "--nick", "KARTIK"]);
    client.end("hello");
    expect((await client.exit()).code).toBe(3);
    expect(client.stderr).toMatch(/already in this room.*--nick/);
    expect(client.stdout).toBe("");
  });

  it("prints every frame as one JSON line with --json", async () => {
    const room = freshRoom();
    const ana = await watcher(room, "Ana");
    ana.send({ type: "message", text: "before you came" });
    await ana.expect("message");
    const client = cli([pageUrl(room), "--nick", "Robot", "--json"]);
    await client.waitFor('"type":"welcome"');
    await ana.expect("joined");
    ana.send({ type: "message", text: "hi Robot" });
    await client.waitFor("hi Robot");
    client.end("/who", "beep");
    expect((await client.exit()).code).toBe(0);

    const frames = client.stdout.trimEnd().split("\n").map((line) => JSON.parse(line) as ServerFrame);
    expect(frames.map((frame) => frame.type)).toEqual(["welcome", "message", "message"]);
    const [welcome, hi, beep] = frames as [Extract<ServerFrame, { type: "welcome" }>, MessageFrame, MessageFrame];
    expect(welcome).toMatchObject({ room, you: { nick: "Robot" }, history: [{ text: "before you came" }] });
    expect(welcome).not.toHaveProperty("session");
    expect(hi).toMatchObject({ text: "hi Robot", from: { nick: "Ana" } });
    expect(beep).toMatchObject({ text: "beep", from: { nick: "Robot" }, cid: expect.any(String) });
    // Command answers go to stderr, out of the way of the JSON.
    expect(client.stderr).toContain(`2 in #${room}: Ana, Robot (you)`);
  });
});

describe("terminal client, refusals before any connection", () => {
  it("says the server cannot be reached, and exits 1", async () => {
    const port = await freePort(); // nothing listens there
    const url = `http://127.0.0.1:${port}/r/lobby`;
    // With something to send, and with nothing: either way the exit code says the room was not reached.
    for (const input of [["hello?"], []]) {
      const client = cli([url, "--nick", "Kartik"]);
      client.end(...input);
      expect((await client.exit()).code).toBe(1);
      expect(client.stderr).toBe(`Cannot reach ${url}: is the server running? (npm run dev)\n`);
    }
  });

  it("refuses an invalid room name or URL with exit code 2", async () => {
    for (const url of ["http://127.0.0.1:8787/r/no.dots", "ws://127.0.0.1:8787/api/rooms/-x/websocket", "lobby"]) {
      const client = cli([url, "--nick", "Kartik"]);
      expect((await client.exit()).code, url).toBe(2);
      expect(client.stderr, url).toMatch(/Invalid room name|is not a URL/);
    }
  });

  it("needs --nick when stdin is not a terminal, and a valid one", async () => {
    const missing = cli(["http://127.0.0.1:8787/r/lobby"]);
    missing.end("hello");
    expect((await missing.exit()).code).toBe(2);
    expect(missing.stderr).toContain("Give one with --nick NAME.");
    const bad = cli(["http://127.0.0.1:8787/r/lobby", "--nick", "\u200b"]);
    expect((await bad.exit()).code).toBe(2);
    expect(bad.stderr).toContain("Invalid nickname");
  });
});
