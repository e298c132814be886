/**
 * The terminal client (the built dist/edge-chat.mjs) against the real
 * `wrangler dev`, with piped stdio as scripts use it: two clients chatting,
 * piped lines delivered exactly once and in order, refusals and their exit
 * codes, --json, and files (/send with progress, --download-dir saving
 * byte for byte, never over an existing file). A protocol-level test client (ChatSocket over Node's
 * WebSocket) checks what actually reached the room.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { ChatSocket } from "../chat-socket";
import { freePort, openRoom, startDevServer, type DevServer } from "../e2e/wrangler-dev";
import { CliProcess, chatLines } from "./run-cli";
import type { MessageFrame, ServerFrame } from "../../src/shared/protocol";
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

let server: DevServer;
/** Files the tests share or save. */
let scratch: string;
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
async function messages(
  socket: ChatSocket,
  count: number,
  ms = 15_000,
): Promise<{ messages: MessageFrame[]; frames: ServerFrame[] }> {
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
  scratch = mkdtempSync(join(tmpdir(), "edge-chat-cli-files-"));
  server = await startDevServer();
}, 90_000);

afterEach(() => {
  for (const client of clients.splice(0)) client.kill();
  for (const socket of sockets.splice(0)) if (socket.closed === null) socket.close();
});

afterAll(async () => {
  await server?.stop();
  if (server !== undefined) rmSync(server.stateDir, { recursive: true, force: true });
  rmSync(scratch, { recursive: true, force: true });
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
    expect(seenByBo).toEqual(
      expect.arrayContaining([
        "Ana: hello Bo",
        "Ana: second line",
        "* Bo waves",
        "* You are now Bob",
        "Bob: hi Ana",
        "* Ana left",
      ]),
    );
    expect(chatLines(ana.stdout)).toEqual(expect.arrayContaining(["* Bo waves", "* Bo is now Bob"]));
    // The blank line was not sent; the order is the room's.
    expect(seenByBo.filter((line) => line.startsWith("Ana:"))).toEqual(["Ana: hello Bo", "Ana: second line"]);
    // Not a terminal: no escape codes at all, and nothing on stderr.
    for (const client of [ana, bo]) {
      expect(client.stdout).not.toContain("\x1b");
      expect(client.stderr).toBe("");
    }
  });

  it("joins a private room as its owner with --owner-key (or its owner link) and appoints a moderator with /mod", async () => {
    const created = await fetch(`${server.url}/api/rooms`, { method: "POST" });
    expect(created.status).toBe(201);
    const { room, ownerKey } = (await created.json()) as { room: string; ownerKey: string };
    const olu = cli([pageUrl(room), "--nick", "Olu", "--owner-key", ownerKey]);
    await olu.waitFor(`You joined #${room} as Olu.`);
    const ana = cli([`${pageUrl(room)}#owner=${"x".repeat(32)}`, "--nick", "Ana"]);
    // A wrong key (here from a forged owner link) is a bad argument: exit 2, saying why.
    expect(await ana.exit()).toMatchObject({ code: 2 });
    expect(ana.stderr).toContain("not this room's owner key");
    const bo = cli([pageUrl(room), "--nick", "Bo"]);
    await bo.waitFor(`You joined #${room} as Bo. Also here: Olu.`);
    bo.write("/who");
    await bo.waitFor(`2 in #${room}: Bo (you), Olu (owner)`);
    bo.write("/mod Olu");
    await bo.waitFor("* Error from the room: Only the room's owner appoints and removes moderators.", 10_000, "stderr");
    // Presence may travel a little after other frames: Olu appoints Bo once Olu knows Bo is here.
    await olu.waitFor("* Bo joined");
    olu.write("/mod bo");
    await bo.waitFor("* Olu made you a moderator");
    await olu.waitFor("* Olu made Bo a moderator");
    olu.write("/unmod Bo");
    await bo.waitFor("* Olu made you a member again");
    olu.write("/mod Nobody");
    await olu.waitFor('Nobody called "Nobody" is in the room.');

    // Bo, a moderator again, bans a troll; the troll's client says why and exits 1.
    olu.write("/mod Bo");
    await bo.waitFor("* Olu made you a moderator");
    const troll = cli([pageUrl(room), "--nick", "Troll Face"]);
    await troll.waitFor(`You joined #${room} as Troll Face.`);
    await bo.waitFor("* Troll Face joined");
    bo.write("/ban troll face 30 spamming links");
    expect(await troll.exit()).toMatchObject({ code: 1 });
    expect(troll.stderr).toMatch(/^edge-chat: #\w+: Bo banned you from this room until .+: spamming links\.$/m);
    await olu.waitFor(/\* Bo banned Troll Face until .+: spamming links/);
    bo.write("/bans");
    await bo.waitFor(/^\w{16} {2}Troll Face until .+, by Bo: spamming links$/m);
    const id = /^(\w{16}) {2}Troll Face/m.exec(bo.stdout)![1]!;
    bo.write(`/unban ${id}`);
    await bo.waitFor("No bans in force.");
    // Settings: a topic, a lock, slow mode; each said to everyone.
    bo.write("/topic Release day", "/lock", "/slow 3600");
    await olu.waitFor("* Bo set the topic: Release day");
    await olu.waitFor("* Bo locked the room: only people who have been here can join");
    await olu.waitFor("* Bo turned slow mode on: one message every 3600 s");
    olu.write("/topic");
    await olu.waitFor("Topic: Release day");
    const stranger = cli([pageUrl(room), "--nick", "Stranger"]);
    expect(await stranger.exit()).toMatchObject({ code: 1 });
    expect(stranger.stderr).toContain("This room is locked");
    bo.write("/unlock");
    await olu.waitFor("* Bo unlocked the room");
    bo.write("/modlog");
    await bo.waitFor(/ Bo changed the settings: locked: off\n.* Bo changed the settings: slow mode: 3600 s/);
    await bo.waitFor(/ Bo banned Troll Face until [^:]+:\d\d.*: spamming links/);
    // A kick: the troll is back, kicked, and out again.
    const again = cli([pageUrl(room), "--nick", "Troll"]);
    await again.waitFor(`You joined #${room} as Troll.`);
    await olu.waitFor("* Troll joined");
    olu.write("/kick Troll");
    expect(await again.exit()).toMatchObject({ code: 1 });
    expect(again.stderr).toMatch(
      new RegExp(`^edge-chat: #${room}: Olu removed you from this room\\. You can come back after .+\\.$`, "m"),
    );
  });

  it("pipes an owner's commands: held until the room is there, in order with the messages", async () => {
    const created = await fetch(`${server.url}/api/rooms`, { method: "POST" });
    const { room, ownerKey } = (await created.json()) as { room: string; ownerKey: string };
    const guest = cli([pageUrl(room), "--nick", "Guest"]);
    await guest.waitFor(`You joined #${room} as Guest.`);
    const owner = cli([`${pageUrl(room)}#owner=${ownerKey}`, "--nick", "Owner"]);
    owner.end("hello, I own this", "/topic Demo day", "/mod guest", "/newkey", "bye");
    expect(await owner.exit()).toMatchObject({ code: 0 });
    const key = /^New owner key: ([a-z2-7]{32})$/m.exec(owner.stdout)?.[1];
    expect(key, owner.stdout).toBeDefined();
    expect(owner.stdout).toContain(`Owner link: ${server.url}/r/${room}#owner=${key}`);
    await guest.waitFor("Owner: bye");
    const lines = chatLines(guest.stdout);
    const order = [
      "Owner: hello, I own this",
      "* Owner set the topic: Demo day",
      "* Owner made you a moderator",
      "Owner: bye",
    ];
    expect(lines.filter((line) => order.includes(line))).toEqual(order);
  });

  it("deletes with /delete (the last message, or an id from /ids on), edits with /edit; the owner clears with /clearhistory yes", async () => {
    const created = await fetch(`${server.url}/api/rooms`, { method: "POST" });
    const { room, ownerKey } = (await created.json()) as { room: string; ownerKey: string };
    const guest = cli([pageUrl(room), "--nick", "Guest"]);
    await guest.waitFor(`You joined #${room} as Guest.`);
    const watching = await watcher(room);
    guest.write("from the guest");
    await guest.waitFor("Guest: from the guest");
    const owner = cli([pageUrl(room), "--nick", "Owner", "--owner-key", ownerKey]);
    // "/delete" waits for "oops" to be confirmed (its id); "/delete 5" names "second", "/delete 1" the guest's.
    owner.end(
      "oops",
      "/delete",
      "/ids on",
      "keep",
      "second",
      "/delete 5",
      "/delete 1",
      "/clearhistory",
      "/clearhistory yes",
      "bye",
      "/edit bye, all",
    );
    expect(await owner.exit()).toMatchObject({ code: 0 });
    expect(chatLines(owner.stdout)).toContain("#4 Owner: keep");
    expect(owner.stdout).toContain("To do it: /clearhistory yes");
    // What reached the room, in order: each deletion the next entry of the log.
    const log: string[] = [];
    while (log.at(-1) !== "edited 10 of 9: bye, all") {
      const frame = await watching.next(15_000);
      if (frame.type === "message") log.push(`message ${frame.id} ${frame.text}`);
      else if (frame.type === "edited") log.push(`edited ${frame.id} of ${frame.target}: ${frame.text}`);
      else if (frame.type === "deleted") log.push(`deleted ${frame.id} of ${frame.target}`);
      else if (frame.type === "cleared") log.push(`cleared ${frame.id}`);
    }
    expect(log).toEqual([
      "message 1 from the guest",
      "message 2 oops",
      "deleted 3 of 2",
      "message 4 keep",
      "message 5 second",
      "deleted 6 of 5",
      "deleted 7 of 1",
      "cleared 8",
      "message 9 bye",
      "edited 10 of 9: bye, all",
    ]);
    await guest.waitFor("Owner (edited): bye, all");
    const seen = chatLines(guest.stdout);
    const order = [
      "Owner: oops",
      "* Owner deleted a message",
      "Owner: keep",
      "Owner: second",
      "* Owner deleted a message",
      "* Owner deleted a message by you",
      "* Owner cleared the history",
      "Owner: bye",
      "Owner (edited): bye, all",
    ];
    expect(seen.filter((line) => order.includes(line))).toEqual(order);
    // A guest cannot clear: the room says so.
    guest.write("/clearhistory yes");
    await guest.waitFor("Only the room's owner clears its history.", 10_000, "stderr");
  });

  it("reacts with /react, finds with /search, and shows others' reactions", async () => {
    const room = freshRoom();
    const ana = cli([pageUrl(room), "--nick", "Ana"]);
    await ana.waitFor(`You joined #${room} as Ana.`);
    const bob = await watcher(room, "Bob");
    bob.send({ type: "message", text: "lunch at the café, @ana?" });
    await ana.waitFor("Bob: lunch at the café, @ana?");
    // /react: on the newest message; again takes it back.
    ana.write("/react 👍");
    await ana.waitFor("* Ana reacted 👍 to Bob: lunch at the café, @ana?");
    ana.write("/react 👍");
    await ana.waitFor("* Ana took back 👍 on Bob: lunch at the café, @ana?");
    const reactions: string[] = [];
    while (reactions.length < 2) {
      const frame = await bob.next(15_000);
      if (frame.type === "reacted") reactions.push(`${frame.user.nick} ${frame.emoji} ${frame.on} on ${frame.target}`);
    }
    expect(reactions).toEqual(["Ana 👍 true on 1", "Ana 👍 false on 1"]);
    bob.send({ type: "react", id: 1, emoji: "🎉", on: true });
    await ana.waitFor("* Bob reacted 🎉 to Bob: lunch at the café, @ana?");
    // /search: the room's answer, with ids to /reply to.
    ana.write("/search CAFE");
    await ana.waitFor('Found for "CAFE", newest first:');
    await ana.waitFor("#1 Bob: lunch at the café, @ana?");
    ana.write("/search nothing-like-it");
    await ana.waitFor('No messages found for "nothing-like-it".');
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

    const frames = client.stdout
      .trimEnd()
      .split("\n")
      .map((line) => JSON.parse(line) as ServerFrame);
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

/** Every byte value, in a pattern a slipped byte would break. */
function binary(size: number): Buffer {
  const data = Buffer.alloc(size);
  for (let i = 0; i < size; i++) data[i] = (i * 13 + (i >> 9)) & 0xff;
  return data;
}

async function nextMessage(socket: ChatSocket): Promise<MessageFrame> {
  for (;;) {
    const frame = await socket.next(15_000);
    if (frame.type === "message") return frame;
  }
}

describe("calls, seen from the terminal", () => {
  it("says who joins and leaves the room's call", async () => {
    const room = freshRoom();
    const ana = cli([pageUrl(room), "--nick", "Ana"]);
    await ana.waitFor(`You joined #${room} as Ana.`);
    const caller = await watcher(room, "Caller");
    caller.send({ type: "call", state: { audio: true, video: false } });
    await ana.waitFor("* Caller joined the call");
    caller.send({ type: "call", state: { audio: false, video: false } }); // a change is not news
    caller.send({ type: "call", state: null });
    await ana.waitFor("* Caller left the call");
    expect(ana.stdout.match(/joined the call/g)).toHaveLength(1);
  });
});

describe("files in the terminal client", () => {
  it("/send uploads with progress; another client saves it with --download-dir, byte for byte", async () => {
    const room = freshRoom();
    const data = binary(1_500_000);
    const path = join(scratch, "backup.tar");
    writeFileSync(path, data);
    const downloads = join(scratch, "downloads", "nested");
    const saver = cli([pageUrl(room), "--nick", "Saver", "--download-dir", downloads]);
    await saver.waitFor(`You joined #${room} as Saver.`);
    const watch = await watcher(room);

    const sender = cli([pageUrl(room), "--nick", "Sender"]);
    sender.end(`/send ${path}`, "that was the backup");
    expect((await sender.exit()).code).toBe(0);
    // Progress on stderr (stdout is the chat), from 0 % to 100 %.
    expect(sender.stderr).toMatch(/Uploading .*backup\.tar: 0% of 1\.5 MB/);
    expect(sender.stderr).toMatch(/Uploading .*backup\.tar: 100% of 1\.5 MB/);

    // In the pipe's order: the file's message, then the line after it.
    const announced = await nextMessage(watch);
    expect((await nextMessage(watch)).text).toBe("that was the backup");
    expect(announced.file).toMatchObject({ name: "backup.tar", size: 1_500_000, type: "application/octet-stream" });
    const url = `${server.url}${announced.file!.url}`;
    await saver.waitFor(`Sender: shared backup.tar (1.5 MB, application/octet-stream): ${url}`);
    // Diagnostics such as "Saved" go to stderr when stdin is not a terminal.
    await saver.waitFor(`Saved backup.tar to ${join(downloads, "backup.tar")}`, 15_000, "stderr");
    expect(readFileSync(join(downloads, "backup.tar")).equals(data)).toBe(true);
    await saver.waitFor("Sender: that was the backup");

    // The same name again: saved beside it, nothing overwritten.
    const again = cli([pageUrl(room), "--nick", "Sender2"]);
    again.end(`/send ${path}`);
    expect((await again.exit()).code).toBe(0);
    await saver.waitFor(`Saved backup.tar to ${join(downloads, "backup (1).tar")}`, 15_000, "stderr");
    expect(readdirSync(downloads).sort()).toEqual(["backup (1).tar", "backup.tar"]);
    expect(readFileSync(join(downloads, "backup (1).tar")).equals(data)).toBe(true);
  }, 60_000);

  it("refuses a missing file and one over the room's limit before uploading, and a pipe exits 1", async () => {
    const room = freshRoom();
    const watch = await watcher(room);
    const missing = cli([pageUrl(room), "--nick", "Missing"]);
    missing.end(`/send ${join(scratch, "no-such-file.txt")}`, "not sent either");
    expect((await missing.exit()).code).toBe(1);
    expect(missing.stderr).toContain("edge-chat: not shared:");
    expect(missing.stderr).toContain("no such file");

    const big = join(scratch, "big.bin");
    writeFileSync(big, binary(10_485_761));
    const tooBig = cli([pageUrl(room), "--nick", "TooBig"]);
    tooBig.end(`/send ${big}`);
    expect((await tooBig.exit()).code).toBe(1);
    expect(tooBig.stderr).toContain("big.bin is 10,485,761 bytes; files are limited to 10,485,760 bytes.");
    expect(tooBig.stderr).not.toContain("Uploading");

    // Nothing reached the room: the next message is the watcher's own.
    watch.send({ type: "message", text: "only me" });
    expect((await nextMessage(watch)).text).toBe("only me");
  }, 60_000);

  it("shows a file a browser shared as a line with its full URL", async () => {
    const room = freshRoom();
    const reader = cli([pageUrl(room), "--nick", "Reader"]);
    await reader.waitFor(`You joined #${room} as Reader.`);
    // A member's session token is what a browser uploads with.
    const page = await openRoom(server, room);
    sockets.push(page);
    const welcome = await page.joinAs("Page");
    const response = await fetch(`${server.url}/api/rooms/${room}/files?name=${encodeURIComponent("café menu.pdf")}`, {
      method: "POST",
      headers: { Authorization: `Bearer ${welcome.session}`, "Content-Type": "application/pdf" },
      body: Buffer.from("%PDF-1.7 tiny"),
    });
    expect(response.status).toBe(201);
    const { file } = (await response.json()) as { file: { url: string } };
    await reader.waitFor(`Page: shared café menu.pdf (13 bytes, application/pdf): ${server.url}${file.url}`);
  }, 60_000);
});
