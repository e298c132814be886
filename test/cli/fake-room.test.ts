/**
 * The terminal client against a scripted room (fake-room.ts), for what the
 * real room never does: frames full of escape sequences, a dropped
 * connection at a chosen moment, a take-over, a full room; and to see the
 * close code the client sends when it leaves.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  DEFAULT_SETTINGS,
  type MessageFrame,
  type RoomLimits,
  type User,
  type WelcomeFrame,
} from "../../src/shared/protocol";
import { FakeRoom, type FakeSocket } from "./fake-room";
import { CliProcess, chatLines } from "./run-cli";

const ESC = "\x1b";
/** What must never reach a terminal raw: C0 but tab and LF, DEL, C1, bidi controls. */
const RAW_CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;
const limits: RoomLimits = {
  messageLength: 4000,
  nickLength: 32,
  typingIntervalMs: 2000,
  rateBurst: 10,
  ratePerSecond: 5,
};
const me: User = { id: "me000000000000aa", nick: "Kartik" };
const ana: User = { id: "ana0000000000000", nick: "Ana" };

let room: FakeRoom;
let client: CliProcess | undefined;

function welcome(extra: Partial<WelcomeFrame> = {}): WelcomeFrame {
  return {
    type: "welcome",
    room: "fake",
    you: me,
    session: "s1",
    users: [me, ana],
    history: [],
    limits,
    settings: { ...DEFAULT_SETTINGS },
    ...extra,
  } as WelcomeFrame;
}
const message = (id: number, from: User, text: string, extra: Partial<MessageFrame> = {}): MessageFrame => ({
  type: "message",
  id,
  ts: Date.now(),
  from,
  text,
  ...extra,
});

/** Starts the client and answers its join; resolves with the room's side of the socket. */
async function joined(args: string[] = [], frame = welcome()): Promise<FakeSocket> {
  client = new CliProcess([room.url, "--nick", "Kartik", ...args]);
  const socket = await room.connection();
  expect(await socket.next()).toEqual({ type: "join", nick: "Kartik" });
  socket.send(frame);
  return socket;
}

beforeEach(async () => {
  room = await FakeRoom.start();
});

afterEach(async () => {
  client?.kill();
  client = undefined;
  await room.close();
});

describe("terminal client against a hostile room", () => {
  for (const json of [false, true]) {
    it(`never prints the control characters a room sends${json ? " (--json)" : ""}`, async () => {
      const evil: User = { id: "evil000000000000", nick: `${ESC}[2J${ESC}]0;owned\x07Evil\u202e` };
      const socket = await joined(
        json ? ["--json"] : [],
        welcome({
          room: `fake${ESC}[31m`,
          users: [me, evil],
          history: [message(1, evil, `${ESC}]0;pwned\x07old news`)],
        }),
      );
      socket.send([
        message(2, evil, `${ESC}[2J${ESC}[Hcleared\u009b31m red\u0085 \u202egnp.exe`),
        { type: "joined", user: evil },
        { type: "renamed", user: evil, from: `x${ESC}[8m` },
        { type: "error", code: "internal", message: `oops${ESC}[5m` },
      ]);
      socket.send(message(3, evil, "last"));
      await client!.waitFor("last");
      client!.end();
      expect((await client!.exit()).code).toBe(0);

      expect(client!.stdout).not.toMatch(RAW_CONTROL);
      expect(client!.stderr).not.toMatch(RAW_CONTROL);
      if (json) {
        const lines = client!.stdout
          .trimEnd()
          .split("\n")
          .map((line) => JSON.parse(line) as { type: string; text?: string });
        expect(lines.map((line) => line.type)).toEqual(["welcome", "message", "joined", "renamed", "error", "message"]);
        expect(lines[1]!.text).toBe(`${ESC}[2J${ESC}[Hcleared\u009b31m red\u0085 \u202egnp.exe`); // escaped in JSON, intact once parsed
      } else {
        expect(client!.stdout).toContain("␛[2J␛[Hcleared\ufffd31m red\ufffd \ufffdgnp.exe");
        expect(client!.stdout).toContain("␛]0;pwned␇old news");
      }
      expect(socket.closeCode).toBe(1000);
    });
  }
});

describe("terminal client, leaving", () => {
  it("leaves with a proper close (1000) and exit 0 on SIGINT, as on Ctrl-C", async () => {
    const socket = await joined();
    await client!.waitFor("You joined #fake as Kartik");
    client!.child.kill("SIGINT");
    expect(await client!.exit()).toEqual({ code: 0, signal: null });
    await socket.ended;
    expect(socket.closeCode).toBe(1000);
  });

  it("exits 1, saying so, when its session is taken over elsewhere (4001)", async () => {
    const socket = await joined();
    await client!.waitFor("You joined #fake as Kartik");
    socket.close(4001, "session taken over");
    expect((await client!.exit()).code).toBe(1);
    expect(client!.stderr).toContain("opened again somewhere else");
  });

  it("exits 1 with the reason when the room is full", async () => {
    client = new CliProcess([room.url, "--nick", "Kartik"]);
    const socket = await room.connection();
    await socket.next();
    socket.send({ type: "error", code: "room_full", message: "This room is full." });
    socket.close(1013);
    expect((await client.exit()).code).toBe(1);
    expect(client.stderr).toBe("edge-chat: cannot join #fake: This room is full.\n");
  });
});

describe("terminal client, reconnecting", () => {
  it("resumes with since and session after a drop, and sends again only what did not arrive", async () => {
    const first = await joined([], welcome({ history: [message(5, ana, "before")] }));
    await client!.waitFor("You joined #fake as Kartik");
    client!.write("one", "two", "three");
    const sent = [await first.next(), await first.next(), await first.next()] as { text: string; cid: string }[];
    expect(sent.map((frame) => frame.text)).toEqual(["one", "two", "three"]);
    first.send(message(6, me, "one", { cid: sent[0]!.cid }));
    await client!.waitFor("Kartik: one");
    first.drop(); // "two" got to the room, but its echo did not come back; "three" was lost.

    const second = await room.connection(5_000);
    expect(await second.next()).toEqual({ type: "join", nick: "Kartik", since: 6, session: "s1" });
    second.send(welcome({ history: [message(7, me, "two", { cid: sent[1]!.cid })] }));
    expect(await second.next()).toEqual({ type: "message", text: "three", cid: sent[2]!.cid });
    second.send(message(8, me, "three", { cid: sent[2]!.cid }));
    client!.end();
    expect((await client!.exit()).code).toBe(0);
    expect(second.closeCode).toBe(1000);

    expect(chatLines(client!.stdout).filter((line) => line.startsWith("Kartik:"))).toEqual([
      "Kartik: one",
      "Kartik: two",
      "Kartik: three",
    ]);
    expect(client!.stdout).toContain("Reconnected.");
    expect(client!.stderr).toMatch(/Connection lost\. Reconnecting in \d s…/);
  });
});
