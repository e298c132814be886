/**
 * Files from the terminal client (the built dist/edge-chat.mjs) against the
 * real `wrangler dev` and its local R2: `/send PATH` with progress, and
 * `--download-dir` saving what others share, byte for byte, never over an
 * existing file. A protocol-level socket checks what the room announced.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { ChatSocket } from "../chat-socket";
import { openRoom, startDevServer, type DevServer } from "../e2e/wrangler-dev";
import { CliProcess } from "./run-cli";
import type { MessageFrame } from "../../src/protocol";

let server: DevServer;
let scratch: string;
const clients: CliProcess[] = [];
const sockets: ChatSocket[] = [];
let counter = 0;
const freshRoom = () => `cli-files-${Date.now().toString(36)}-${counter++}`;
const pageUrl = (room: string) => `${server.url}/r/${room}`;

function cli(args: string[]): CliProcess {
  const client = new CliProcess(args);
  clients.push(client);
  return client;
}

async function watcher(room: string): Promise<ChatSocket> {
  const socket = await openRoom(server, room);
  sockets.push(socket);
  await socket.joinAs("Watcher");
  return socket;
}

async function nextMessage(socket: ChatSocket): Promise<MessageFrame> {
  for (;;) {
    const frame = await socket.next(15_000);
    if (frame.type === "message") return frame;
  }
}

/** Every byte value, in a pattern a slipped byte would break. */
function binary(size: number): Buffer {
  const data = Buffer.alloc(size);
  for (let i = 0; i < size; i++) data[i] = (i * 13 + (i >> 9)) & 0xff;
  return data;
}

beforeAll(async () => {
  scratch = mkdtempSync(join(tmpdir(), "edge-chat-cli-files-"));
  server = await startDevServer({ vars: { MAX_FILE_BYTES: "2000000" } });
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
    writeFileSync(big, binary(2_000_001));
    const tooBig = cli([pageUrl(room), "--nick", "TooBig"]);
    tooBig.end(`/send ${big}`);
    expect((await tooBig.exit()).code).toBe(1);
    expect(tooBig.stderr).toContain("big.bin is 2,000,001 bytes; files are limited to 2,000,000 bytes.");
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
