/**
 * Owners and moderators (moderation.ts, issue 16), in the Workers runtime:
 * the owner key from creating or claiming a room, stored only as its hash;
 * joining with it; roles on user objects, kept by the identity across
 * reconnects and the room's eviction; the owner appointing moderators; and
 * every refusal on the way.
 */
import { evictDurableObject, runInDurableObject } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { CLOSE_KICKED, type ErrorFrame } from "../src/shared/protocol";
import { ORIGIN, TestSocket, freshRoom, next } from "./socket";

const post = (path: string) => exports.default.fetch(`${ORIGIN}${path}`, { method: "POST" });

/** A named room, claimed: its owner key. */
async function claimed(room = freshRoom()): Promise<{ room: string; ownerKey: string }> {
  const response = await post(`/api/rooms/${room}/claim`);
  expect(response.status).toBe(201);
  return response.json();
}

/** A room with its owner Olu (joined with the key) and Ana and Bo as members. */
async function ownedRoom() {
  const { room, ownerKey } = await claimed();
  const [olu, oluWelcome] = await TestSocket.join(room, "Olu", { ownerKey });
  const [ana, anaWelcome] = await TestSocket.join(room, "Ana");
  const [bo, boWelcome] = await TestSocket.join(room, "Bo");
  await olu.expect("joined");
  await olu.expect("joined");
  await ana.expect("joined");
  return { room, ownerKey, olu, oluWelcome, ana, anaWelcome, bo, boWelcome };
}

describe("who owns a room", () => {
  it("gives the creator of a private room its owner key, which makes them the owner", async () => {
    const response = await post("/api/rooms");
    expect(response.status).toBe(201);
    const created = await response.json<{ room: string; url: string; ownerKey: string }>();
    expect(created.ownerKey).toMatch(/^[a-z2-7]{32}$/); // 160 bits
    const [owner, welcome] = await TestSocket.join(created.room, "Kartik", { ownerKey: created.ownerKey });
    expect(welcome.you).toEqual({ id: welcome.you.id, nick: "Kartik", role: "owner" });
    expect(welcome.users).toEqual([welcome.you]);
    // Others see the role on every user object: the roster, joins, messages.
    const [guest, guestWelcome] = await TestSocket.join(created.room, "Guest");
    expect(guestWelcome.users).toContainEqual(welcome.you);
    expect(guestWelcome.you.role).toBeUndefined();
    expect((await owner.expect("joined")).user).toEqual(guestWelcome.you);
    owner.send({ type: "message", text: "welcome, all" });
    expect((await guest.expect("message")).from).toEqual(welcome.you);
  });

  it("keeps only the key's hash", async () => {
    const { room, ownerKey } = await claimed();
    const rows = await runInDurableObject(env.ROOMS.getByName(room), (_instance, ctx) =>
      ctx.storage.sql.exec<{ key: string; value: string }>("SELECT key, value FROM meta").toArray(),
    );
    expect(rows.map((row) => row.key)).toContain("owner_key");
    expect(JSON.stringify(rows)).not.toContain(ownerKey);
  });

  it("lets a named room be claimed once: 409 already_claimed after that", async () => {
    const { room, ownerKey } = await claimed();
    const again = await post(`/api/rooms/${room}/claim`);
    expect(again.status).toBe(409);
    expect(await again.json()).toMatchObject({ error: "already_claimed", message: expect.stringContaining(room) });
    const [, welcome] = await TestSocket.join(room, "Owner", { ownerKey });
    expect(welcome.you.role).toBe("owner");
    const bad = await post("/api/rooms/not.a.room/claim");
    expect(bad.status).toBe(400);
  });

  it("refuses a wrong owner key with bad_owner_key; the same socket then joins without it", async () => {
    const { room } = await claimed();
    const socket = await TestSocket.open(room);
    socket.send({ type: "join", nick: "Mallory", ownerKey: "a".repeat(32) });
    expect(await socket.expect("error")).toMatchObject({ code: "bad_owner_key" });
    const welcome = await socket.joinAs("Mallory");
    expect(welcome.you.role).toBeUndefined();
    // A room nobody owns has no key to match.
    const unowned = await TestSocket.open(freshRoom());
    unowned.send({ type: "join", nick: "Mallory", ownerKey: "b".repeat(32) });
    expect(await unowned.expect("error")).toMatchObject({ code: "bad_owner_key" });
    // A key that is not a string, or too long, is a bad frame.
    unowned.send({ type: "join", nick: "Mallory", ownerKey: "c".repeat(129) });
    expect(await unowned.expect("error")).toMatchObject({ code: "bad_frame" });
  });
});

describe("roles", () => {
  it("lets the owner appoint a moderator and make them a member again; everyone is told", async () => {
    const { olu, oluWelcome, ana, anaWelcome, bo } = await ownedRoom();
    olu.send({ type: "role", user: anaWelcome.you.id, role: "moderator" });
    const appointed = { ...anaWelcome.you, role: "moderator" };
    for (const socket of [olu, ana, bo]) {
      expect(await socket.expect("role")).toEqual({ type: "role", user: appointed, by: oluWelcome.you });
    }
    // The new role is on what Ana sends from now on.
    ana.send({ type: "message", text: "hello as a moderator" });
    expect((await bo.expect("message")).from).toEqual(appointed);
    olu.send({ type: "role", user: anaWelcome.you.id, role: "member" });
    expect((await bo.expect("role")).user).toEqual(anaWelcome.you);
  });

  it("keeps a role across a rename", async () => {
    const { room, olu, oluWelcome, ana, bo } = await ownedRoom();
    olu.send({ type: "nick", nick: "Olu the owner" });
    for (const socket of [olu, ana, bo])
      expect((await socket.expect("renamed")).user).toEqual({ ...oluWelcome.you, nick: "Olu the owner" });
    const [, later] = await TestSocket.join(room, "Later");
    expect(later.users).toContainEqual({ ...oluWelcome.you, nick: "Olu the owner" });
  });

  it("keeps a role across a reconnect and the room's eviction", async () => {
    const { room, olu, oluWelcome, ana, anaWelcome } = await ownedRoom();
    olu.send({ type: "role", user: anaWelcome.you.id, role: "moderator" });
    await ana.expect("role");
    ana.close();
    await ana.closeEvent();
    await evictDurableObject(env.ROOMS.getByName(room), { webSockets: "close" });
    const [, back] = await TestSocket.join(room, "Ana", { session: anaWelcome.session });
    expect(back.you).toEqual({ ...anaWelcome.you, role: "moderator" });
    // The owner too, with the session alone (no key).
    const [, owner] = await TestSocket.join(room, "Olu", { session: oluWelcome.session });
    expect(owner.you.role).toBe("owner");
    expect(back.users).toContainEqual({ ...anaWelcome.you, role: "moderator" });
  });

  it("refuses role changes from anyone but the owner, on owners, and for people not here", async () => {
    const { room, ownerKey, olu, oluWelcome, ana, anaWelcome, bo, boWelcome } = await ownedRoom();
    const refusal = async (socket: TestSocket, frame: object): Promise<ErrorFrame> => {
      socket.send(frame);
      return socket.expect("error");
    };
    expect(await refusal(ana, { type: "role", user: boWelcome.you.id, role: "moderator" })).toMatchObject({
      code: "forbidden",
    });
    // A moderator appoints no one either.
    olu.send({ type: "role", user: anaWelcome.you.id, role: "moderator" });
    for (const socket of [olu, ana, bo]) await socket.expect("role");
    expect(await refusal(ana, { type: "role", user: boWelcome.you.id, role: "moderator" })).toMatchObject({
      code: "forbidden",
    });
    expect(await refusal(olu, { type: "role", user: "nobody-here", role: "moderator" })).toMatchObject({
      code: "not_found",
    });
    // A second owner (another identity with the key) and the first cannot change each other.
    const [other, otherWelcome] = await TestSocket.join(room, "Olu2", { ownerKey });
    expect(otherWelcome.you.role).toBe("owner");
    await olu.expect("joined");
    expect(await refusal(olu, { type: "role", user: otherWelcome.you.id, role: "member" })).toMatchObject({
      code: "forbidden",
    });
    expect(await refusal(other, { type: "role", user: oluWelcome.you.id, role: "moderator" })).toMatchObject({
      code: "forbidden",
    });
    // Bad frames.
    expect(await refusal(olu, { type: "role", user: boWelcome.you.id, role: "owner" })).toMatchObject({
      code: "bad_frame",
    });
    expect(await refusal(olu, { type: "role", role: "moderator" })).toMatchObject({ code: "bad_frame" });
  });
});

describe("removing people", () => {
  /** A room with its owner and a moderator (Ana), and a troll who joins from `ip`. */
  async function withTroll(ip: string) {
    const room = await ownedRoom();
    room.olu.send({ type: "role", user: room.anaWelcome.you.id, role: "moderator" });
    for (const socket of [room.olu, room.ana, room.bo]) await socket.expect("role");
    const troll = await TestSocket.open(room.room, { "CF-Connecting-IP": ip });
    const trollWelcome = await troll.joinAs("Troll");
    for (const socket of [room.olu, room.ana, room.bo]) await socket.expect("joined");
    return { ...room, troll, trollWelcome };
  }

  it("kicks: the one removed is told and closed (4003), the others see why, and the cool-down holds identity and address", async () => {
    const { room, olu, ana, anaWelcome, bo, troll, trollWelcome } = await withTroll("203.0.113.10");
    ana.send({ type: "kick", user: trollWelcome.you.id, reason: "  spam  " });
    const moderator = { ...anaWelcome.you, role: "moderator" };
    const told = await troll.expect("kicked");
    expect(told).toEqual({ type: "kicked", by: moderator, reason: "spam", backAt: expect.any(Number) });
    // Back after the cool-down (KICK_COOLDOWN_SECONDS is 1 in these tests).
    expect(told.backAt).toBeGreaterThan(Date.now());
    expect(told.backAt).toBeLessThanOrEqual(Date.now() + 1000);
    expect((await troll.closeEvent()).code).toBe(CLOSE_KICKED);
    for (const socket of [olu, ana, bo]) {
      expect(await socket.expect("left")).toEqual({
        type: "left",
        user: trollWelcome.you,
        kicked: { by: moderator, reason: "spam" },
      });
    }
    // Back at once: refused, under the old session or a new name from the same address.
    const again = await TestSocket.open(room, { "CF-Connecting-IP": "203.0.113.10" });
    again.send({ type: "join", nick: "Troll", session: trollWelcome.session });
    expect(await again.expect("error")).toMatchObject({
      code: "kicked",
      message: /by Ana \(spam\); you can come back in 1 s/,
    });
    // A new identity from that address is not told it was removed: someone on its network was.
    again.send({ type: "join", nick: "Innocent" });
    expect(await again.expect("error")).toMatchObject({
      code: "kicked",
      message: expect.stringMatching(
        /^Someone using your network \(your address\) was removed from this room, so it is kept out for 1 s more\./,
      ),
    });
    // After the cool-down (KICK_COOLDOWN_SECONDS is 1 in these tests), the same identity is back.
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    const back = await again.joinAs("Troll", { session: trollWelcome.session });
    expect(back.you.id).toBe(trollWelcome.you.id);
  });

  it("takes everyone else joined from that address who is not staff, each told the truth; staff stay", async () => {
    const { room, olu, ana, anaWelcome, bo } = await ownedRoom();
    olu.send({ type: "role", user: anaWelcome.you.id, role: "moderator" });
    for (const socket of [olu, ana, bo]) await socket.expect("role");
    // Carol, Dan and Mallory share an office's address; Ana, a moderator, comes
    // back from there too (her session: the same identity, on a new socket).
    const office = "192.0.2.44";
    const people = [];
    for (const nick of ["Carol", "Dan", "Mallory"]) {
      const socket = await TestSocket.open(room, { "CF-Connecting-IP": office });
      people.push({ socket, welcome: await socket.joinAs(nick) });
    }
    const moderatorSocket = await TestSocket.open(room, { "CF-Connecting-IP": office });
    const moderatorWelcome = await moderatorSocket.joinAs("Ana", { session: anaWelcome.session });
    expect(moderatorWelcome.you.role).toBe("moderator");
    const [carol, dan, mallory] = people;
    const moderator = moderatorWelcome.you;
    moderatorSocket.send({ type: "kick", user: mallory!.welcome.you.id, reason: "spam links" });
    // Mallory alone is told by whom and why.
    expect(await next(mallory!.socket, "kicked")).toEqual({
      type: "kicked",
      by: moderator,
      reason: "spam links",
      backAt: expect.any(Number),
    });
    // Carol and Dan: someone on their network was; no reason of Mallory's.
    for (const { socket } of [carol!, dan!]) {
      const told = await next(socket, "kicked");
      expect(told).toEqual({ type: "kicked", by: moderator, backAt: expect.any(Number), network: true });
      expect((await socket.closeEvent()).code).toBe(CLOSE_KICKED);
    }
    expect((await mallory!.socket.closeEvent()).code).toBe(CLOSE_KICKED);
    // The room sees Mallory removed, and Carol and Dan leave (nothing said of their address).
    const lefts = [];
    while (lefts.length < 3) {
      const frame = await bo.next();
      if (frame.type === "left") lefts.push(frame);
    }
    expect(lefts).toEqual([
      { type: "left", user: mallory!.welcome.you, kicked: { by: moderator, reason: "spam links" } },
      { type: "left", user: carol!.welcome.you },
      { type: "left", user: dan!.welcome.you },
    ]);
    // Staff behind that address stay, and are never kept out by it.
    moderatorSocket.send({ type: "message", text: "sorry, all" });
    expect((await next(bo, "message")).text).toBe("sorry, all");
    // Carol, back under her own identity, is told the truth again.
    const again = await TestSocket.open(room, { "CF-Connecting-IP": office });
    again.send({ type: "join", nick: "Carol", session: carol!.welcome.session });
    expect(await again.expect("error")).toMatchObject({
      code: "kicked",
      message: expect.stringMatching(/^Someone using your network \(your address\) was removed/),
    });
  });

  it("bans: identity and address stay out until the ban ends or is lifted; moderators list and lift bans", async () => {
    const { room, ownerKey, olu, oluWelcome, ana, bo, boWelcome, troll, trollWelcome } =
      await withTroll("2001:db8:7:1::5");
    olu.send({ type: "ban", user: trollWelcome.you.id, reason: "trolling" });
    expect(await troll.expect("kicked")).toEqual({
      type: "kicked",
      by: oluWelcome.you,
      reason: "trolling",
      until: null,
      backAt: null,
    });
    expect((await troll.closeEvent()).code).toBe(CLOSE_KICKED);
    expect((await bo.expect("left")).kicked).toEqual({ by: oluWelcome.you, reason: "trolling", until: null });
    await olu.expect("left");
    await ana.expect("left");
    // Another address in the same IPv6 /64, a new name, no session: still out, long after a kick's cool-down.
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    const sameBlock = await TestSocket.open(room, { "CF-Connecting-IP": "2001:db8:7:1::99" });
    sameBlock.send({ type: "join", nick: "NotTheTroll" });
    expect(await sameBlock.expect("error")).toMatchObject({
      code: "banned",
      message:
        "Someone using your network (your address) was removed from this room, so it is kept out for good. If that was not you, a moderator can lift it.",
    });
    // The troll, under its session, is told by whom and why.
    const trollAgain = await TestSocket.open(room, { "CF-Connecting-IP": "2001:db8:7:1::98" });
    trollAgain.send({ type: "join", nick: "Troll", session: trollWelcome.session });
    expect(await trollAgain.expect("error")).toMatchObject({
      code: "banned",
      message: "You are banned from this room for good, by Olu (trolling).",
    });
    trollAgain.close();
    // The list, for moderators only; members are refused.
    bo.send({ type: "bans" });
    expect(await bo.expect("error")).toMatchObject({ code: "forbidden" });
    ana.send({ type: "bans" });
    const { bans } = await ana.expect("bans");
    expect(bans).toEqual([
      // (Who, as they were named then: id and nickname.)
      {
        id: expect.any(String),
        user: trollWelcome.you,
        by: { id: oluWelcome.you.id, nick: "Olu" },
        reason: "trolling",
        until: null,
      },
    ]);
    bo.send({ type: "unban", ban: bans[0]!.id });
    expect(await bo.expect("error")).toMatchObject({ code: "forbidden" });
    ana.send({ type: "unban", ban: "no-such-ban" });
    expect(await ana.expect("error")).toMatchObject({ code: "not_found" });
    // A moderator or the owner from the banned address still gets in (to lift the ban, say).
    const owner = await TestSocket.open(room, { "CF-Connecting-IP": "2001:db8:7:1::7" });
    expect((await owner.joinAs("Olu again", { ownerKey })).you.role).toBe("owner");
    for (const socket of [olu, ana, bo]) await socket.expect("joined");
    ana.send({ type: "unban", ban: bans[0]!.id });
    expect(await ana.expect("bans")).toEqual({ type: "bans", bans: [] });
    const back = await sameBlock.joinAs("NotTheTroll");
    expect(back.you.nick).toBe("NotTheTroll");
    // A ban for some minutes says until when.
    olu.send({ type: "ban", user: back.you.id, minutes: 90 });
    const kicked = await sameBlock.expect("kicked");
    expect(kicked.until).toBeGreaterThan(Date.now() + 89 * 60_000);
    expect(kicked.until).toBeLessThanOrEqual(Date.now() + 90 * 60_000);
    expect(boWelcome.you.role).toBeUndefined();
  });

  it("refuses removals by members, of equals and higher roles, of people not here, and bad frames", async () => {
    const { olu, oluWelcome, ana, anaWelcome, bo, boWelcome } = await withTroll("198.51.100.20");
    const refusal = async (socket: TestSocket, frame: object): Promise<ErrorFrame> => {
      socket.send(frame);
      return socket.expect("error");
    };
    expect(await refusal(bo, { type: "kick", user: anaWelcome.you.id })).toMatchObject({ code: "forbidden" });
    expect(await refusal(bo, { type: "ban", user: oluWelcome.you.id })).toMatchObject({ code: "forbidden" });
    // A moderator removes neither the owner nor another moderator.
    expect(await refusal(ana, { type: "kick", user: oluWelcome.you.id })).toMatchObject({
      code: "forbidden",
      message: "Olu is an owner: you can only kick people below you.",
    });
    olu.send({ type: "role", user: boWelcome.you.id, role: "moderator" });
    for (const socket of [olu, ana, bo]) await socket.expect("role");
    expect(await refusal(ana, { type: "ban", user: boWelcome.you.id })).toMatchObject({ code: "forbidden" });
    expect(await refusal(olu, { type: "kick", user: "nobody-here" })).toMatchObject({ code: "not_found" });
    expect(await refusal(olu, { type: "kick", user: boWelcome.you.id, reason: "x".repeat(201) })).toMatchObject({
      code: "too_long",
    });
    expect(await refusal(olu, { type: "kick", user: boWelcome.you.id, reason: "two\nlines" })).toMatchObject({
      code: "bad_frame",
    });
    expect(await refusal(olu, { type: "ban", user: boWelcome.you.id, minutes: 0 })).toMatchObject({
      code: "bad_frame",
    });
    expect(await refusal(olu, { type: "ban", user: boWelcome.you.id, minutes: 1.5 })).toMatchObject({
      code: "bad_frame",
    });
    expect(await refusal(olu, { type: "unban" })).toMatchObject({ code: "bad_frame" });
  });
});

describe("room settings", () => {
  it("lets moderators change any subset; everyone gets all of them, and so does every welcome", async () => {
    const { room, olu, ana, anaWelcome, bo, oluWelcome } = await ownedRoom();
    expect(oluWelcome.settings).toEqual({ topic: "", locked: false, slowModeSeconds: 0, files: true, calls: true });
    ana.send({ type: "settings", topic: "anything" });
    expect(await ana.expect("error")).toMatchObject({ code: "forbidden" });
    olu.send({ type: "role", user: anaWelcome.you.id, role: "moderator" });
    for (const socket of [olu, ana, bo]) await socket.expect("role");
    ana.send({ type: "settings", topic: "  Release day  " });
    const expected = { topic: "Release day", locked: false, slowModeSeconds: 0, files: true, calls: true };
    for (const socket of [olu, ana, bo]) {
      expect(await socket.expect("settings")).toEqual({
        type: "settings",
        settings: expected,
        by: { ...anaWelcome.you, role: "moderator" },
      });
    }
    const [, later] = await TestSocket.join(room, "Later");
    expect(later.settings).toEqual(expected);
    await olu.expect("joined");
    // Refused: nothing to change, wrong types, too long, out of range.
    for (const [frame, code] of [
      [{ type: "settings" }, "bad_frame"],
      [{ type: "settings", locked: "yes" }, "bad_frame"],
      [{ type: "settings", topic: "x".repeat(201) }, "too_long"],
      [{ type: "settings", slowModeSeconds: 3601 }, "bad_frame"],
      [{ type: "settings", slowModeSeconds: -1 }, "bad_frame"],
    ] as const) {
      olu.send(frame);
      expect(await olu.expect("error"), JSON.stringify(frame)).toMatchObject({ code });
    }
  });

  it("keeps new identities out of a locked room; people with a session and the owner still come in", async () => {
    const { room, ownerKey, olu, bo, boWelcome } = await ownedRoom();
    olu.send({ type: "settings", locked: true });
    await bo.expect("settings");
    const stranger = await TestSocket.open(room);
    stranger.send({ type: "join", nick: "Stranger" });
    expect(await stranger.expect("error")).toMatchObject({ code: "locked", message: /locked/ });
    bo.close();
    await bo.closeEvent();
    const [, back] = await TestSocket.join(room, "Bo", { session: boWelcome.session });
    expect(back.you.id).toBe(boWelcome.you.id);
    const [, owner] = await TestSocket.join(room, "Olu on a phone", { ownerKey });
    expect(owner.you.role).toBe("owner");
  });

  it("slow mode: a member sends one message per interval (its cid in the refusal); moderators are exempt", async () => {
    const { olu, ana, bo } = await ownedRoom();
    olu.send({ type: "settings", slowModeSeconds: 3600 });
    for (const socket of [olu, ana, bo]) await socket.expect("settings");
    ana.send({ type: "message", text: "first", cid: "a1" });
    expect((await bo.expect("message")).text).toBe("first");
    await ana.expect("message");
    ana.send({ type: "message", text: "second", cid: "a2" });
    expect(await ana.expect("error")).toMatchObject({
      code: "slow_mode",
      cid: "a2",
      message: expect.stringMatching(/one message every 3600 s in this room\. Try again in \d+ s\./),
    });
    olu.send({ type: "message", text: "the owner is exempt" });
    olu.send({ type: "message", text: "twice" });
    expect((await bo.expect("message")).text).toBe("the owner is exempt");
    expect((await bo.expect("message")).text).toBe("twice");
  });

  it("slow mode holds for files: a file is a message (429 slow_mode with Retry-After); staff are exempt", async () => {
    const { room, olu, oluWelcome, ana, anaWelcome, bo, boWelcome } = await ownedRoom();
    const upload = (session: string, name: string) =>
      exports.default.fetch(`${ORIGIN}/api/rooms/${room}/files?name=${name}`, {
        method: "POST",
        body: "hello",
        headers: { Authorization: `Bearer ${session}`, "Content-Type": "text/plain" },
      });
    olu.send({ type: "settings", slowModeSeconds: 60 });
    for (const socket of [olu, ana, bo]) await socket.expect("settings");
    // A message first: no file after it until the minute is over.
    ana.send({ type: "message", text: "first" });
    await ana.expect("message");
    expect((await bo.expect("message")).text).toBe("first");
    for (const name of ["a.txt", "b.txt", "c.txt"]) {
      const refused = await upload(anaWelcome.session, name);
      expect(refused.status, name).toBe(429);
      expect(Number(refused.headers.get("Retry-After"))).toBeGreaterThan(0);
      expect(Number(refused.headers.get("Retry-After"))).toBeLessThanOrEqual(60);
      expect(await refused.json()).toMatchObject({
        error: "slow_mode",
        message: expect.stringMatching(/every 60 s in this room\. Try again in \d+ s\./),
      });
    }
    // A file first: no second file, and no message after it.
    expect((await upload(boWelcome.session, "d.txt")).status).toBe(201);
    expect((await bo.expect("message")).file?.name).toBe("d.txt");
    expect((await upload(boWelcome.session, "e.txt")).status).toBe(429);
    bo.send({ type: "message", text: "and now a message", cid: "b2" });
    expect(await bo.expect("error")).toMatchObject({ code: "slow_mode", cid: "b2" });
    // The owner shares three files in a row.
    for (const name of ["f.txt", "g.txt", "h.txt"]) expect((await upload(oluWelcome.session, name)).status).toBe(201);
  });

  it("turns files and calls off: uploads refused with 403 files_disabled, joining the call with calls_disabled", async () => {
    const { room, olu, ana, anaWelcome } = await ownedRoom();
    olu.send({ type: "settings", files: false, calls: false });
    await ana.expect("settings");
    const upload = await exports.default.fetch(`${ORIGIN}/api/rooms/${room}/files?name=a.txt`, {
      method: "POST",
      body: "hello",
      headers: { Authorization: `Bearer ${anaWelcome.session}`, "Content-Type": "text/plain" },
    });
    expect(upload.status).toBe(403);
    expect(await upload.json()).toMatchObject({ error: "files_disabled" });
    ana.send({ type: "call", state: { audio: true, video: false } });
    expect(await ana.expect("error")).toMatchObject({ code: "calls_disabled" });
  });
});

describe("the moderation log", () => {
  it("keeps who did what to whom, when and why, newest first, for moderators only", async () => {
    const { olu, oluWelcome, ana, anaWelcome, bo, boWelcome } = await ownedRoom();
    const before = Date.now();
    olu.send({ type: "role", user: anaWelcome.you.id, role: "moderator" });
    for (const socket of [olu, ana, bo]) await socket.expect("role");
    ana.send({ type: "settings", topic: "Quiet, please" });
    for (const socket of [olu, ana, bo]) await socket.expect("settings");
    ana.send({ type: "kick", user: boWelcome.you.id, reason: "noise" });
    await bo.expect("kicked");
    await olu.expect("left");
    await ana.expect("left");
    olu.send({ type: "modlog" });
    const { entries } = await olu.expect("modlog");
    const anaThen = { id: anaWelcome.you.id, nick: "Ana" };
    expect(entries).toEqual([
      { at: expect.any(Number), action: "kick", by: anaThen, target: boWelcome.you, reason: "noise" },
      { at: expect.any(Number), action: "settings", by: anaThen, detail: '{"topic":"Quiet, please"}' },
      {
        at: expect.any(Number),
        action: "role",
        by: { id: oluWelcome.you.id, nick: "Olu" },
        target: anaWelcome.you,
        detail: "moderator",
      },
    ]);
    for (const entry of entries) expect(entry.at).toBeGreaterThanOrEqual(before);
    // A member reads none of it.
    const [member] = await TestSocket.join(freshRoom(), "Member");
    member.send({ type: "modlog" });
    expect(await member.expect("error")).toMatchObject({ code: "forbidden" });
  });
});

describe("replacing the owner key", () => {
  it("gives the owner a new key: the old one stops working, other owners become members, everyone is told", async () => {
    const { room, ownerKey, olu, oluWelcome, ana, bo } = await ownedRoom();
    const [laptop, laptopWelcome] = await TestSocket.join(room, "Olu on a laptop", { ownerKey });
    for (const socket of [olu, ana, bo]) await socket.expect("joined");
    ana.send({ type: "rotate" });
    expect(await ana.expect("error")).toMatchObject({ code: "forbidden" });
    olu.send({ type: "rotate" });
    const { ownerKey: newKey } = await olu.expect("rotated");
    expect(newKey).toMatch(/^[a-z2-7]{32}$/);
    expect(newKey).not.toBe(ownerKey);
    const demoted = { id: laptopWelcome.you.id, nick: "Olu on a laptop" };
    for (const socket of [olu, ana, bo, laptop]) {
      expect(await socket.expect("role")).toEqual({ type: "role", user: demoted, by: oluWelcome.you });
    }
    // Only the asker hears the key.
    await ana.expectSilence();
    const old = await TestSocket.open(room);
    old.send({ type: "join", nick: "Mallory", ownerKey });
    expect(await old.expect("error")).toMatchObject({ code: "bad_owner_key" });
    expect((await old.joinAs("Olu again", { ownerKey: newKey })).you.role).toBe("owner");
    olu.send({ type: "modlog" });
    await olu.expect("joined");
    expect((await olu.expect("modlog")).entries[0]).toMatchObject({ action: "rotate", by: { nick: "Olu" } });
  });
});

describe("deleting messages", () => {
  it("lets anyone delete their own: everyone now, a resumer and a newcomer get the tombstone, never the text", async () => {
    const { room, olu, ana, anaWelcome, bo, boWelcome } = await ownedRoom();
    // Bo goes away before anything is said, and comes back after the deletion.
    bo.close();
    await bo.closeEvent();
    await next(olu, "left");
    ana.send({ type: "message", text: "my secret", cid: "s" });
    ana.send({ type: "message", text: "never mind" });
    for (const socket of [olu, ana]) expect((await next(socket, "message")).id).toBe(1);
    for (const socket of [olu, ana]) expect((await next(socket, "message")).id).toBe(2);
    ana.send({ type: "delete", id: 1 });
    for (const socket of [olu, ana]) {
      expect(await next(socket, "deleted")).toEqual({
        type: "deleted",
        id: 3, // the next entry of the room's log
        ts: expect.any(Number),
        target: 1,
        by: anaWelcome.you,
      });
    }
    const tombstone = {
      type: "message",
      id: 1,
      ts: expect.any(Number),
      from: anaWelcome.you,
      text: "",
      cid: "s",
      deleted: true,
    };
    // The resumer gets the log after what it saw: the tombstone, the rest, the deletion.
    const [, back] = await TestSocket.join(room, "Bo", { session: boWelcome.session, since: 0 });
    expect(back.truncated).toBeUndefined();
    expect(back.history).toEqual([
      tombstone,
      expect.objectContaining({ id: 2, text: "never mind" }),
      expect.objectContaining({ type: "deleted", id: 3, target: 1 }),
    ]);
    // One who saw message 1 before the deletion gets just what came after.
    const [, saw] = await TestSocket.join(room, "Cy", { since: 2 });
    expect(saw.history.map((entry) => [entry.type, entry.id])).toEqual([["deleted", 3]]);
    // A newcomer sees the messages as they are: a tombstone in its place.
    const [reader, fresh] = await TestSocket.join(room, "Dee");
    expect(fresh.history).toEqual([tombstone, expect.objectContaining({ id: 2, text: "never mind" })]);
    reader.send({ type: "history", before: 3 });
    expect((await next(reader, "history")).messages[0]).toEqual(tombstone);
    for (const welcome of [back, saw, fresh]) expect(JSON.stringify(welcome)).not.toContain("my secret");
    // The log goes on after the deletion, gapless.
    olu.send({ type: "message", text: "next" });
    expect((await next(ana, "message")).id).toBe(4);
  });

  it("keeps deletions and the log's ids across the room's eviction", async () => {
    const { room, olu, ana } = await ownedRoom();
    ana.send({ type: "message", text: "gone soon" });
    await next(olu, "message");
    ana.send({ type: "delete", id: 1 });
    expect((await next(olu, "deleted")).id).toBe(2);
    await evictDurableObject(env.ROOMS.getByName(room), { webSockets: "close" });
    const [writer, welcome] = await TestSocket.join(room, "Writer");
    expect(welcome.history).toEqual([expect.objectContaining({ id: 1, text: "", deleted: true })]);
    writer.send({ type: "message", text: "after" });
    expect((await next(writer, "message")).id).toBe(3); // not 2: the deletion holds it
    const [, resumed] = await TestSocket.join(room, "Late", { since: 0 });
    expect(resumed.history.map((entry) => entry.type)).toEqual(["message", "deleted", "message"]);
  });

  it("lets moderators delete anyone's below them, and refuses everything else with a code", async () => {
    const { room, olu, oluWelcome, ana, anaWelcome, bo, boWelcome } = await ownedRoom();
    const refusal = async (socket: TestSocket, frame: object): Promise<ErrorFrame> => {
      socket.send(frame);
      return next(socket, "error");
    };
    for (const [socket, text] of [
      [olu, "owner's"],
      [ana, "ana's"],
      [bo, "bo's"],
    ] as const) {
      socket.send({ type: "message", text });
      for (const each of [olu, ana, bo]) await next(each, "message");
    }
    // 1 is Olu's, 2 Ana's, 3 Bo's. A member deletes only their own.
    expect(await refusal(bo, { type: "delete", id: 2 })).toMatchObject({ code: "forbidden" });
    olu.send({ type: "role", user: anaWelcome.you.id, role: "moderator" });
    for (const socket of [olu, ana, bo]) await next(socket, "role");
    // A moderator deletes a member's message, not the owner's.
    expect(await refusal(ana, { type: "delete", id: 1 })).toMatchObject({
      code: "forbidden",
      message: expect.stringContaining("Olu"),
    });
    ana.send({ type: "delete", id: 3 });
    for (const socket of [olu, ana, bo])
      expect(await next(socket, "deleted")).toMatchObject({
        id: 4,
        target: 3,
        by: { ...anaWelcome.you, role: "moderator" },
      });
    // Nor another moderator's.
    olu.send({ type: "role", user: boWelcome.you.id, role: "moderator" });
    for (const socket of [olu, ana, bo]) await next(socket, "role");
    bo.send({ type: "message", text: "mod bo" });
    for (const socket of [olu, ana, bo]) expect((await next(socket, "message")).id).toBe(5);
    expect(await refusal(ana, { type: "delete", id: 5 })).toMatchObject({ code: "forbidden" });
    // The owner deletes anyone's.
    olu.send({ type: "delete", id: 5 });
    for (const socket of [olu, ana, bo]) expect(await next(socket, "deleted")).toMatchObject({ id: 6, target: 5 });
    // Not there, already deleted, or not a message: not_found.
    expect(await refusal(olu, { type: "delete", id: 3 })).toMatchObject({ code: "not_found" });
    expect(await refusal(olu, { type: "delete", id: 4 })).toMatchObject({ code: "not_found" });
    expect(await refusal(olu, { type: "delete", id: 999 })).toMatchObject({ code: "not_found" });
    // Bad frames (from a newcomer: each socket has a burst of 10 frames).
    const [eve] = await TestSocket.join(room, "Eve");
    expect(await refusal(eve, { type: "delete", id: "2" })).toMatchObject({ code: "bad_frame" });
    expect(await refusal(eve, { type: "delete", id: 0 })).toMatchObject({ code: "bad_frame" });
    expect(await refusal(eve, { type: "delete" })).toMatchObject({ code: "bad_frame" });
    // Moderators' deletions of others' messages are in the log; one's own are not.
    ana.send({ type: "delete", id: 2 });
    await next(olu, "deleted");
    olu.send({ type: "modlog" });
    const { entries } = await next(olu, "modlog");
    expect(entries.filter((entry) => entry.action === "delete")).toEqual([
      {
        at: expect.any(Number),
        action: "delete",
        by: { id: oluWelcome.you.id, nick: "Olu" },
        target: { id: boWelcome.you.id, nick: "Bo" },
        detail: "5",
      },
      {
        at: expect.any(Number),
        action: "delete",
        by: { id: anaWelcome.you.id, nick: "Ana" },
        target: { id: boWelcome.you.id, nick: "Bo" },
        detail: "3",
      },
    ]);
  });

  it("clear: the owner alone empties the history; resumers get the cleared entry, whole; newcomers nothing", async () => {
    const { room, olu, oluWelcome, ana, anaWelcome, bo } = await ownedRoom();
    ana.send({ type: "message", text: "one" });
    for (const socket of [olu, ana, bo]) await next(socket, "message");
    const upload = await exports.default.fetch(`${ORIGIN}/api/rooms/${room}/files?name=a.txt`, {
      method: "POST",
      body: "hello",
      headers: { Authorization: `Bearer ${anaWelcome.session}`, "Content-Type": "text/plain" },
    });
    expect(upload.status).toBe(201);
    for (const socket of [olu, ana, bo]) await next(socket, "message");
    const objects = async () => (await env.FILES.list({ prefix: `${room}/` })).objects.length;
    expect(await objects()).toBe(1);
    ana.send({ type: "delete", id: 1 });
    for (const socket of [olu, ana, bo]) await next(socket, "deleted");
    olu.send({ type: "role", user: anaWelcome.you.id, role: "moderator" });
    for (const socket of [olu, ana, bo]) await next(socket, "role");
    ana.send({ type: "clear" });
    expect(await next(ana, "error")).toMatchObject({ code: "forbidden" });
    olu.send({ type: "clear" });
    for (const socket of [olu, ana, bo])
      expect(await next(socket, "cleared")).toEqual({
        type: "cleared",
        id: 4,
        ts: expect.any(Number),
        by: oluWelcome.you,
      });
    const [reader, fresh] = await TestSocket.join(room, "New");
    expect(fresh.history).toEqual([]);
    // Every file goes with it (bounded polling, generous on a busy machine).
    for (let attempt = 0; attempt < 200 && (await objects()) > 0; attempt++)
      await new Promise((resolve) => setTimeout(resolve, 25));
    expect(await objects()).toBe(0);
    reader.send({ type: "history", before: 4 });
    expect(await next(reader, "history")).toEqual({ type: "history", before: 4, messages: [], complete: true });
    // A resume from before the clear is whole: it starts at the clear.
    const [, resumed] = await TestSocket.join(room, "Back", { since: 1 });
    expect(resumed.truncated).toBeUndefined();
    expect(resumed.history).toEqual([expect.objectContaining({ type: "cleared", id: 4 })]);
    olu.send({ type: "message", text: "fresh start" });
    expect((await next(ana, "message")).id).toBe(5);
    await next(olu, "message");
    olu.send({ type: "modlog" });
    expect((await next(olu, "modlog")).entries[0]).toMatchObject({ action: "clear", by: { nick: "Olu" } });
  });
});
