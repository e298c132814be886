/**
 * Rooms that survive strangers: each attack a script can run against a
 * public room, and what the room does about it. Limits from vitest.config.ts:
 * 8 connections a room, 4 an address, join within 5 s, 5 upgrades and 12
 * frames a minute per address.
 */
import { evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { Connections, MAX_SENT_BYTES } from "../src/worker/connections";
import {
  CLOSE_POLICY_VIOLATION,
  parseServerMessage,
  type ErrorFrame,
  type MessageFrame,
  type ServerFrame,
} from "../src/shared/protocol";
import { addressKey } from "../src/worker/ip-rate-limit";
import { pathForLog, roomForLog } from "../src/worker/log";
import { ORIGIN, TestSocket, freshRoom } from "./socket";

let addresses = 0;
/** An address of its own for each test (TEST-NET-2), so counts never carry over. */
const freshIp = () => `198.51.100.${++addresses}`;

/** Every frame until the socket closes, and the close. */
async function drain(socket: TestSocket, ms = 10_000): Promise<{ frames: ServerFrame[]; code: number }> {
  const frames: ServerFrame[] = [];
  for (;;) {
    try {
      frames.push(await socket.next(ms));
    } catch (error) {
      if (socket.closed === null) throw error;
      return { frames, code: socket.closed.code };
    }
  }
}

describe("a room full of sockets that never join", () => {
  it("lets a person in at once: sockets that just opened do not count, the oldest past half its deadline gives its place up", async () => {
    const room = freshRoom();
    const stub = env.ROOMS.getByName(room);
    const squatters: TestSocket[] = [];
    for (let i = 0; i < 8; i++) squatters.push(await TestSocket.open(room));
    // A squatter that pings is still a squatter.
    squatters[0]!.send("ping");
    // Just opened, they may be people about to join: a newcomer is let in beside them.
    const [early] = await TestSocket.join(room, "Early");
    expect(squatters.every((s) => s.closed === null)).toBe(true);
    early.close();
    await early.closeEvent();

    // Past half their join deadline (their clocks moved back, then the room
    // evicted so that it reads them again), they are squatters: the oldest
    // gives its place to the next person, the others stay until their deadline.
    await runInDurableObject(stub, (_instance, ctx) => {
      for (const ws of ctx.getWebSockets()) {
        const state = ws.deserializeAttachment() as { openedAt: number };
        ws.serializeAttachment({ ...state, openedAt: state.openedAt - 3000 });
      }
    });
    await evictDurableObject(stub);
    const [, welcome] = await TestSocket.join(room, "Real person");
    expect(welcome.users.map((u) => u.nick)).toEqual(["Real person"]);
    const oldest = await drain(squatters[0]!);
    expect(oldest.code).toBe(CLOSE_POLICY_VIOLATION);
    expect(oldest.frames.at(-1)).toMatchObject({
      type: "error",
      code: "not_joined",
      message: expect.stringMatching(/room is full/),
    });
    expect(squatters.slice(1).every((s) => s.closed === null)).toBe(true);
  });

  it("closes every socket that has not joined within JOIN_TIMEOUT_MS, from an alarm", async () => {
    const room = freshRoom();
    const [member] = await TestSocket.join(room, "Member");
    const squatter = await TestSocket.open(room);
    const refused = await TestSocket.open(room);
    refused.send({ type: "join", nick: "Member" }); // a refused join is no join
    expect(await refused.expect("error")).toMatchObject({ code: "nick_taken" });
    for (const socket of [squatter, refused]) {
      const { frames, code } = await drain(socket);
      expect(code).toBe(CLOSE_POLICY_VIOLATION);
      expect(frames.at(-1)).toMatchObject({
        type: "error",
        code: "not_joined",
        message: expect.stringMatching(/Join within 5 s/),
      });
    }
    // The member is not touched, and hears nothing of it.
    await member.expectSilence(300);
    member.send({ type: "message", text: "still here" });
    expect(await member.expect("message")).toMatchObject({ text: "still here" });
  });

  it("closes a late squatter too, after the alarm has already rung for earlier sockets and been set for the room's expiry", async () => {
    const room = freshRoom();
    const stub = env.ROOMS.getByName(room);
    await TestSocket.join(room, "Member");
    // The alarm rings for the member's join deadline (met), then is set for the room's expiry, days away.
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    const expiry = await runInDurableObject(stub, (_i, ctx) => ctx.storage.getAlarm());
    expect(expiry! - Date.now()).toBeGreaterThan(86_400_000);
    const squatter = await TestSocket.open(room);
    const { code } = await drain(squatter);
    expect(code).toBe(CLOSE_POLICY_VIOLATION);
  });

  it("refuses only when everyone in it has joined: room_full, close 1013", async () => {
    const room = freshRoom();
    for (let i = 0; i < 8; i++) await TestSocket.join(room, `P${i}`);
    const extra = await TestSocket.open(room);
    expect(await extra.expect("error")).toMatchObject({ code: "room_full" });
    expect(await extra.closeEvent()).toMatchObject({ code: 1013 });
  });
});

describe("connections per address", () => {
  it("refuses a fifth socket from one address with too_many_connections, in-band", async () => {
    const room = freshRoom();
    const ip = freshIp();
    for (let i = 0; i < 4; i++) await TestSocket.open(room, { "CF-Connecting-IP": ip });
    const fifth = await TestSocket.open(room, { "CF-Connecting-IP": ip });
    expect(await fifth.expect("error")).toMatchObject({
      code: "too_many_connections",
      message: expect.stringMatching(/4 connections/),
    });
    expect(await fifth.closeEvent()).toMatchObject({ code: 1013 });
    // Another address is let in. (A place freed would let this one in again,
    // but its fifth upgrade this minute already used UPGRADE_RATE_LIMIT up.)
    await (await TestSocket.open(room, { "CF-Connecting-IP": freshIp() })).joinAs("Other");
  });

  it("counts the addresses of one IPv6 /64 as one", async () => {
    const room = freshRoom();
    const block = `2001:db8:${(++addresses).toString(16)}:1`;
    for (let i = 1; i <= 4; i++) await TestSocket.open(room, { "CF-Connecting-IP": `${block}::${i.toString(16)}` });
    const next = await TestSocket.open(room, { "CF-Connecting-IP": `${block}:ffff:ffff:ffff:ffff` });
    expect(await next.expect("error")).toMatchObject({ code: "too_many_connections" });
    // The neighbouring /64 is someone else.
    const neighbour = await TestSocket.open(room, { "CF-Connecting-IP": `2001:db8:${addresses.toString(16)}:2::1` });
    await neighbour.joinAs("Neighbour");
  });

  it("keys addresses for every per-address limit: IPv4 alone, IPv6 by /64", () => {
    expect(addressKey("203.0.113.7")).toBe("203.0.113.7");
    expect(addressKey("2001:db8:1:2:3:4:5:6")).toBe("2001:db8:1:2::/64");
    expect(addressKey("2001:DB8:0001:0002::")).toBe("2001:db8:1:2::/64");
    expect(addressKey("2001:db8::1")).toBe("2001:db8:0:0::/64");
    expect(addressKey("::1")).toBe("0:0:0:0::/64");
    expect(addressKey("fe80::1%eth0")).toBe("fe80:0:0:0::/64");
    expect(addressKey("::ffff:203.0.113.9")).toBe("203.0.113.9");
    expect(addressKey("::ffff:cb00:7109")).toBe("203.0.113.9");
    expect(addressKey("64:ff9b::203.0.113.9")).toBe("64:ff9b:0:0::/64");
    // Not an address: counted as it is, alone.
    for (const raw of ["1:2:3", "1::2::3", "1:2:3:4:5:6:7:8:9", "g::1", "::ffff:300.1.1.1"])
      expect(addressKey(raw)).toBe(raw);
  });

  it("limits upgrades per /64 too: the sixth address of one block gets 429", async () => {
    // The counters reset at each minute's end: start well inside a minute.
    const untilNextMinute = 60_000 - (Date.now() % 60_000);
    if (untilNextMinute < 5000) await new Promise((resolve) => setTimeout(resolve, untilNextMinute + 50));
    const block = `2001:db8:${(++addresses).toString(16)}:9`;
    const statuses = [];
    for (let i = 1; i <= 6; i++) {
      const response = await exports.default.fetch(`${ORIGIN}/api/rooms/${freshRoom()}/websocket`, {
        headers: { Upgrade: "websocket", "CF-Connecting-IP": `${block}::${i}` },
      });
      response.webSocket?.accept();
      response.webSocket?.close();
      statuses.push(response.status);
    }
    expect(statuses).toEqual([101, 101, 101, 101, 101, 429]);
  });
});

describe("a flood from a socket that never joined", () => {
  it.each([["typing"], ["signal"], ["garbage"]])(
    "of %s frames is cut off: too_many_errors, close 1008",
    async (kind) => {
      const room = freshRoom();
      const socket = await TestSocket.open(room);
      const frame =
        kind === "typing"
          ? { type: "typing" }
          : kind === "signal"
            ? { type: "signal", to: "x", data: {} }
            : "{not json";
      for (let i = 0; i < 3000; i++) {
        if (socket.closed !== null) break;
        socket.send(frame);
      }
      const { frames, code } = await drain(socket);
      expect(code).toBe(CLOSE_POLICY_VIOLATION);
      const errors = frames as ErrorFrame[];
      // About MAX_REFUSALS (30) refusals (one is forgiven a second), then the
      // last word: nowhere near one answer per frame.
      expect(errors.length).toBeGreaterThan(30);
      expect(errors.length).toBeLessThan(100);
      expect(errors.at(-1)).toMatchObject({
        type: "error",
        code: "too_many_errors",
        message: expect.stringMatching(/refused frames/),
      });
    },
  );

  it("of typing from a member is cut off by the frame budget, and the others never notice", async () => {
    const room = freshRoom();
    const [alice] = await TestSocket.join(room, "Alice");
    const [flooder] = await TestSocket.join(room, "Flooder");
    await alice.expect("joined");
    for (let i = 0; i < 3000 && flooder.closed === null; i++) flooder.send({ type: "typing" });
    const { frames, code } = await drain(flooder);
    expect(code).toBe(CLOSE_POLICY_VIOLATION);
    expect(frames.filter((f) => f.type === "error").at(-1)).toMatchObject({ code: "too_many_errors" });
    // Alice got one typing notice (the throttle) and the leave, nothing more.
    const seen = [];
    for (;;) {
      const frame = await alice.next(5000);
      seen.push(frame.type);
      if (frame.type === "left") break;
    }
    expect(seen).toEqual(["typing", "left"]);
  });
});

describe("logs", () => {
  it("hash a private room's name in logs only: its welcome still names it", async () => {
    const created = await exports.default.fetch(`${ORIGIN}/api/rooms`, { method: "POST" });
    const { room } = await created.json<{ room: string }>();
    const [, welcome] = await TestSocket.join(room, "Alice");
    expect(welcome.room).toBe(room);
  });

  it("name a private room by a hash, in fields and in paths, and a chosen name as it is", () => {
    const secret = "abcdefghijklmnopqrstuvwxyz";
    expect(roomForLog("lobby")).toBe("lobby");
    const hashed = roomForLog(secret);
    expect(hashed).toMatch(/^private:[A-Za-z0-9_-]{12}$/);
    expect(hashed).not.toContain(secret.slice(0, 8));
    expect(roomForLog(secret)).toBe(hashed); // the same room is followable
    expect(pathForLog(`/api/rooms/${secret}/files/x`)).toBe(`/api/rooms/${hashed}/files/x`);
    expect(pathForLog(`/r/${secret}`)).toBe(`/r/${hashed}`);
  });
});

describe("a room of long messages", () => {
  /** Messages of 3,990 emoji (~16 KB of JSON each), from three senders within their burst. */
  async function longMessages(room: string, count: number): Promise<TestSocket> {
    const senders = [];
    for (let i = 0; i < Math.ceil(count / 8); i++) senders.push((await TestSocket.join(room, `Sender${i}`))[0]);
    for (let n = 0; n < count; n++)
      senders[n % senders.length]!.send({ type: "message", text: `${n} ${"😀".repeat(3990)}` });
    const reader = senders[0]!;
    for (let seen = 0; seen < count; ) if ((await reader.next(5000)).type === "message") seen++;
    return reader;
  }

  it("welcomes with at most HISTORY_MAX_BYTES of history; scroll-back pages are bounded too and reach every message", async () => {
    const room = freshRoom();
    await longMessages(room, 24);
    const newcomer = await TestSocket.open(room);
    const welcome = await newcomer.joinAs("Newcomer");
    const bytes = (text: string) => new TextEncoder().encode(text).byteLength;
    expect(bytes(newcomer.raw[0]!)).toBeLessThan(65_536 + 4096);
    const ids = welcome.history.map((m) => m.id);
    expect(ids.length).toBeGreaterThan(0);
    expect(ids.length).toBeLessThan(20); // HISTORY_ON_JOIN would allow 20
    expect(ids.at(-1)).toBe(24);
    let oldest = ids[0]!;
    let complete = false;
    for (let page = 0; page < 24 && !complete; page++) {
      newcomer.send({ type: "history", before: oldest });
      const answer = await newcomer.expect("history");
      expect(bytes(newcomer.raw.at(-1)!)).toBeLessThan(65_536 + 1024);
      expect(answer.messages.length).toBeGreaterThan(0);
      ids.unshift(...answer.messages.map((m) => m.id));
      oldest = answer.messages[0]!.id;
      complete = answer.complete === true;
    }
    expect(complete).toBe(true);
    expect(ids).toEqual(Array.from({ length: 24 }, (_, i) => i + 1));
  });

  it("resumes with at most HISTORY_MAX_BYTES too, and says truncated", async () => {
    const room = freshRoom();
    const [reader, first] = await TestSocket.join(room, "Reader");
    await longMessages(room, 16);
    const back = await TestSocket.open(room);
    const welcome = await back.joinAs("Reader", { session: first.session, since: 0 });
    expect(welcome.truncated).toBe(true);
    expect(welcome.history.at(-1)?.id).toBe(16);
    expect(welcome.history.length).toBeLessThan(16);
    expect(new TextEncoder().encode(back.raw[0]!).byteLength).toBeLessThan(65_536 + 4096);
    expect((await reader.closeEvent()).code).toBe(4001);
  });
});

describe("the room's sender", () => {
  it("never sends one WebSocket message over 1 MiB, however many frames a turn holds, and keeps their order", async () => {
    const stub = env.ROOMS.getByName(freshRoom());
    const received = await runInDurableObject(stub, async (_instance, ctx) => {
      const sockets = new Connections(ctx, () => {});
      const { 0: client, 1: server } = new WebSocketPair();
      const messages: string[] = [];
      sockets.accept(server, {
        user: null,
        sessionHash: null,
        ip: null,
        openedAt: Date.now(),
        bucket: { tokens: 0, at: 0 },
        typingAt: 0,
      });
      client.accept();
      client.addEventListener("message", (event) => messages.push(event.data as string));
      sockets.join(server, { id: "u", nick: "U" }, "hash");
      const from = { id: "x", nick: "X" };
      // 100 frames of ~16 KB in one turn: 1.6 MB as one array.
      for (let id = 1; id <= 100; id++)
        sockets.broadcast({ type: "message", id, ts: 0, from, text: "😀".repeat(4000) });
      sockets.flush();
      for (let i = 0; i < 100 && messages.length < 2; i++) await new Promise((resolve) => setTimeout(resolve, 10));
      await new Promise((resolve) => setTimeout(resolve, 50));
      return messages;
    });
    expect(received.length).toBeGreaterThan(1);
    for (const message of received)
      expect(new TextEncoder().encode(message).byteLength).toBeLessThanOrEqual(MAX_SENT_BYTES);
    const ids = received.flatMap((message) => parseServerMessage(message).map((frame) => (frame as MessageFrame).id));
    expect(ids).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
  });
});

describe("storage only for rooms that are used", () => {
  /** The tables a room's database holds (none: the room stores nothing). */
  const tablesOf = (room: string) =>
    runInDurableObject(env.ROOMS.getByName(room), (_instance, ctx) =>
      ctx.storage.sql
        .exec<{ name: string }>(
          "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '\\_cf%' ESCAPE '\\' AND name NOT LIKE 'sqlite%'",
        )
        .toArray()
        .map((row) => row.name),
    );

  it("looking a room up stores nothing", async () => {
    const rooms = Array.from({ length: 10 }, () => freshRoom("lookup"));
    for (const room of rooms) {
      const answer = await exports.default.fetch(`${ORIGIN}/api/rooms/${room}`);
      expect(await answer.json()).toEqual({ room, url: `/r/${room}`, online: 0 });
    }
    for (const room of rooms) expect(await tablesOf(room)).toEqual([]);
    const alarms = await Promise.all(
      rooms.map((room) => runInDurableObject(env.ROOMS.getByName(room), (_i, ctx) => ctx.storage.getAlarm())),
    );
    expect(alarms).toEqual(rooms.map(() => null));
  });

  it("a room nobody joined keeps nothing once its sockets are gone", async () => {
    const room = freshRoom();
    const squatter = await TestSocket.open(room);
    expect((await drain(squatter)).code).toBe(CLOSE_POLICY_VIOLATION); // the join deadline, from the alarm
    // The alarm that closed it found nobody ever joined: nothing is kept.
    for (let i = 0; i < 50 && (await tablesOf(room)).length > 0; i++)
      await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await tablesOf(room)).toEqual([]);
    expect(await runInDurableObject(env.ROOMS.getByName(room), (_i, ctx) => ctx.storage.getAlarm())).toBeNull();
  });

  it(`a room nobody has used for ROOM_EXPIRY_DAYS deletes its messages, sessions and files, R2 objects too`, async () => {
    const room = freshRoom();
    const stub = env.ROOMS.getByName(room);
    const [alice, welcome] = await TestSocket.join(room, "Alice");
    alice.send({ type: "message", text: "remember me" });
    await alice.expect("message");
    const shared = await exports.default.fetch(`${ORIGIN}/api/rooms/${room}/files?name=note.txt`, {
      method: "POST",
      body: new TextEncoder().encode("a note"),
      headers: { Authorization: `Bearer ${welcome.session}`, "Content-Type": "text/plain" },
    });
    expect(shared.status).toBe(201);
    const { file } = await shared.json<{ file: { id: string } }>();
    await alice.expect("message");
    expect(await env.FILES.head(`${room}/${file.id}`)).not.toBeNull();
    alice.close();
    await alice.closeEvent();

    // In use 89 days ago: kept, and looked at again when it would be due.
    await runInDurableObject(
      stub,
      (_i, ctx) =>
        void ctx.storage.sql.exec(
          "UPDATE meta SET value = ? WHERE key = 'active'",
          String(Date.now() - 89 * 86_400_000),
        ),
    );
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await tablesOf(room)).toContain("messages");
    const due = await runInDurableObject(stub, (_i, ctx) => ctx.storage.getAlarm());
    expect(due! - Date.now()).toBeGreaterThan(23 * 3_600_000);
    expect(due! - Date.now()).toBeLessThanOrEqual(86_400_000);

    // 91 days: gone, objects and all.
    await runInDurableObject(
      stub,
      (_i, ctx) =>
        void ctx.storage.sql.exec(
          "UPDATE meta SET value = ? WHERE key = 'active'",
          String(Date.now() - 91 * 86_400_000),
        ),
    );
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await tablesOf(room)).toEqual([]);
    expect(await env.FILES.head(`${room}/${file.id}`)).toBeNull();
    expect(await runInDurableObject(stub, (_i, ctx) => ctx.storage.getAlarm())).toBeNull();

    // Whoever comes next finds a new, empty room; the old session is nobody.
    const [, again] = await TestSocket.join(room, "Alice", { session: welcome.session });
    expect(again.history).toEqual([]);
    expect(again.you.id).not.toBe(welcome.you.id);
  });

  it("is not deleted while someone is in it, however long ago they came", async () => {
    const room = freshRoom();
    const stub = env.ROOMS.getByName(room);
    const [alice] = await TestSocket.join(room, "Alice");
    await runInDurableObject(
      stub,
      (_i, ctx) =>
        void ctx.storage.sql.exec(
          "UPDATE meta SET value = ? WHERE key = 'active'",
          String(Date.now() - 200 * 86_400_000),
        ),
    );
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    alice.send({ type: "message", text: "still here" });
    expect(await alice.expect("message")).toMatchObject({ id: 1, text: "still here" });
    expect(await tablesOf(room)).toContain("messages");
  });
});

describe("identity", () => {
  it("keeps a session that is still connected past SESSION_TTL_HOURS: a reconnect takes the old socket over", async () => {
    const room = freshRoom();
    const stub = env.ROOMS.getByName(room);
    const [alice, welcome] = await TestSocket.join(room, "Alice");
    // Connected for 25 hours without a reconnect: the row is past its time-to-live…
    await runInDurableObject(
      stub,
      (_i, ctx) => void ctx.storage.sql.exec("UPDATE sessions SET last_used = last_used - 90000000"),
    );
    // …and someone else's join clears expired rows away.
    await TestSocket.join(room, "Bob");
    await alice.expect("joined");
    const [, again] = await TestSocket.join(room, "Alice", { session: welcome.session });
    expect(again.you).toEqual(welcome.you);
    expect((await alice.closeEvent()).code).toBe(4001);
  });
});
