/**
 * The client core's RoomSession (src/core/session.ts), which both clients
 * render: in Node with a stub WebSocket, frame by frame. What confirms an own
 * message or rename, what a refusal is about, what a resume cut short means
 * for what was in flight, the call's members, and the message list as data.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { MAX_KEPT, MessageList, reactionsOf, withReaction } from "../../src/core/messages";
import {
  RoomSession,
  removedText,
  settingsText,
  type Notice,
  type SessionEvents,
  type Welcome,
} from "../../src/core/session";
import { DEFAULT_SETTINGS, type MessageFrame, type User } from "../../src/shared/protocol";
import { StubSocket } from "./stub-socket";

const limits = { messageLength: 20, nickLength: 32, typingIntervalMs: 2000, rateBurst: 0, ratePerSecond: 5 };
const me: User = { id: "me", nick: "Kartik" };
const ana: User = { id: "ana", nick: "Ana" };
const message = (id: number, from: User = ana, cid?: string): MessageFrame => ({
  type: "message",
  id,
  ts: id * 1000,
  from,
  text: `m${id}`,
  ...(cid === undefined ? {} : { cid }),
});

/** Everything the session told its view, in order, as short strings. */
let heard: string[];
let welcomes: Welcome[];
let notices: Notice[];

function describeNotice(notice: Notice): string {
  switch (notice.kind) {
    case "joined":
    case "left":
      return `${notice.kind} ${notice.user.nick}`;
    case "renamed":
      return `renamed ${notice.from}→${notice.user.nick}${notice.you ? " (you)" : ""}`;
    case "call":
      return `call ${notice.joined ? "joined" : "left"} ${notice.user.nick}${notice.you ? " (you)" : ""}`;
    case "role":
      return `role ${notice.user.nick}: ${notice.user.role ?? "member"} by ${notice.by.nick}${notice.you ? " (you)" : ""}`;
  }
}

function session(): { room: RoomSession; socket: () => StubSocket } {
  const events: Partial<SessionEvents> = {
    welcome: (welcome) => {
      welcomes.push(welcome);
      heard.push(`welcome ${welcome.first ? "first" : "again"} [${welcome.history.map((m) => m.id).join(",")}]`);
    },
    messages: (messages) => heard.push(`messages [${messages.map((m) => m.id).join(",")}]`),
    older: (page) => heard.push(`older ${page.before}`),
    notice: (notice) => {
      notices.push(notice);
      heard.push(describeNotice(notice));
    },
    refused: (item, reason) =>
      heard.push(
        `refused ${item.kind === "message" ? item.text : item.kind === "nick" ? item.nick : `/${item.frame.type}`}: ${reason}`,
      ),
    error: (frame) => heard.push(`error ${frame.code}`),
    joinRefused: (frame) => heard.push(`join refused ${frame.code}`),
    settings: (changed, by) => heard.push(`settings ${changed.join(",")} by ${by.nick}`),
    deleted: (frame, held) =>
      heard.push(`deleted ${frame.target}${held === undefined ? "" : " (held)"} by ${frame.by.nick}`),
    cleared: (frame) => heard.push(`cleared ${frame.id} by ${frame.by.nick}`),
    edited: (frame, held) => heard.push(`edited ${frame.target}${held === undefined ? "" : ` (held): ${held.text}`}`),
    reacted: (frame, held) =>
      heard.push(`reacted ${frame.emoji} ${frame.on} on ${frame.target}${held === undefined ? "" : " (held)"}`),
    results: (frame) => heard.push(`results ${frame.query}: ${frame.messages.map((m) => m.id).join(",")}`),
  };
  const room = new RoomSession("ws://room.test/api/rooms/r/websocket", events);
  return { room, socket: () => StubSocket.all.at(-1)! };
}

/** A welcome to us, with what a test says on top. */
const welcome = (fields: object = {}) => ({
  type: "welcome",
  room: "r",
  you: me,
  session: "s1",
  users: [me],
  history: [],
  limits,
  ...fields,
});

/** A session that has joined: the socket open, the welcome received. */
function joined(history: MessageFrame[] = [], users: User[] = [me, ana]) {
  const { room, socket } = session();
  room.join("Kartik");
  socket().open();
  socket().receive(welcome({ users, history }));
  return { room, socket };
}

/** Frames the client sent of one type. */
const sentOf = (socket: StubSocket, type: string) => socket.frames.filter((frame) => frame.type === type);

beforeEach(() => {
  vi.useFakeTimers();
  vi.stubGlobal("WebSocket", StubSocket);
  StubSocket.all = [];
  heard = [];
  welcomes = [];
  notices = [];
});

afterEach(() => {
  vi.unstubAllGlobals();
  vi.useRealTimers();
});

describe("RoomSession", () => {
  it("joins: who we are, the room's limits, the roster, and the past as the welcome's history", () => {
    const { room } = joined([message(1), message(2)]);
    expect(room.me).toEqual(me);
    expect(room.limits).toEqual(limits);
    expect(room.roster.sorted().map((user) => user.nick)).toEqual(["Ana", "Kartik"]);
    expect(room.messages.messages.map((m) => m.id)).toEqual([1, 2]);
    expect(heard).toEqual(["welcome first [1,2]"]);
  });

  it("shows an own message at once, sends it with a cid, and takes the echo as its confirmation", () => {
    const { room, socket } = joined();
    const own = room.say("hello", false);
    expect(room.messages.own).toEqual([{ cid: own.cid, text: "hello", action: false, failed: null }]);
    expect(sentOf(socket(), "message")).toEqual([{ type: "message", text: "hello", cid: own.cid }]);
    expect(room.unconfirmed).toBe(1);
    // Someone else's message with the same cid confirms nothing.
    socket().receive(message(1, ana, own.cid));
    expect(room.unconfirmed).toBe(1);
    socket().receive({ ...message(2, me, own.cid), text: "hello" });
    expect(room.unconfirmed).toBe(0);
    expect(room.messages.own).toEqual([]);
    expect(room.messages.messages.map((m) => m.id)).toEqual([1, 2]);
    expect(heard.slice(1)).toEqual(["messages [1]", "messages [2]"]);
  });

  it("matches a refusal to the message or rename it names by cid, and leaves the rest alone", () => {
    const { room, socket } = joined();
    const own = room.say("first", false);
    expect(room.rename("Bo")).toBeNull();
    const [rename] = sentOf(socket(), "nick") as [{ cid: string }];
    expect(rename).toMatchObject({ type: "nick", nick: "Bo" });
    // A refused page of history carries no cid: about neither of them.
    socket().receive({ type: "error", code: "rate_limited", message: "Slow down." });
    expect(room.unconfirmed).toBe(2);
    socket().receive({ type: "error", code: "nick_taken", message: '"Bo" is taken.', cid: rename.cid });
    socket().receive({ type: "error", code: "too_long", message: "Too long.", cid: own.cid });
    expect(heard.slice(1)).toEqual(["error rate_limited", 'refused Bo: "Bo" is taken.', "refused first: Too long."]);
    expect(room.unconfirmed).toBe(0);
    // The message stays in the list, failed, until it is retried or discarded.
    expect(room.messages.own).toEqual([{ cid: own.cid, text: "first", action: false, failed: "Not sent: Too long." }]);
    expect(room.retry(own.cid)).toBe(true);
    expect(sentOf(socket(), "message")).toEqual([
      { type: "message", text: "first", cid: own.cid },
      { type: "message", text: "first", cid: own.cid },
    ]);
    expect(room.messages.own[0]!.failed).toBeNull();
    // Only a failed message can be retried or discarded.
    expect(room.retry(own.cid)).toBe(false);
    expect(room.discard(own.cid)).toBe(false);
    socket().receive({ type: "error", code: "too_long", message: "Too long.", cid: own.cid });
    expect(room.discard(own.cid)).toBe(true);
    expect(room.messages.own).toEqual([]);
  });

  it("refuses before sending what the room would refuse, and sends what follows", async () => {
    const { room, socket } = joined();
    const tooLong = room.say("x".repeat(21), false);
    expect(tooLong.failed).toBe("Not sent: A message is at most 20 characters.");
    room.say("short", false);
    await Promise.resolve();
    expect(sentOf(socket(), "message").map((frame) => frame.text)).toEqual(["short"]);
    expect(room.rename("")).toMatch(/nickname/i);
  });

  it("renames: a notice about us, the new name for the next join; the same name is confirmed silently", () => {
    const { room, socket } = joined();
    room.rename("Bo");
    const bo = { id: "me", nick: "Bo" };
    socket().receive({ type: "renamed", user: bo, from: "Kartik" });
    expect(room.me).toEqual(bo);
    expect(room.unconfirmed).toBe(0);
    room.rename("Bo");
    socket().receive({ type: "renamed", user: bo, from: "Bo" });
    expect(room.unconfirmed).toBe(0);
    socket().receive({ type: "renamed", user: { id: "ana", nick: "Anna" }, from: "Ana" });
    expect(heard.slice(1)).toEqual(["renamed Kartik→Bo (you)", "renamed Ana→Anna"]);
    expect(room.roster.get("ana")?.nick).toBe("Anna");
    // The next join is under the new name.
    socket().end(1006);
    vi.advanceTimersByTime(1000);
    socket().open();
    expect(socket().frames[0]).toMatchObject({ type: "join", nick: "Bo", since: 0, session: "s1" });
  });

  it("after a drop, sends again only what the resume's history did not confirm", () => {
    const { room, socket } = joined([message(1)]);
    const a = room.say("a", false);
    const b = room.say("b", false);
    socket().end(1006);
    room.say("c", false); // written while away
    vi.advanceTimersByTime(1000);
    socket().open();
    expect(socket().frames).toEqual([{ type: "join", nick: "Kartik", since: 1, session: "s1" }]);
    socket().receive(welcome({ history: [{ ...message(2, me, a.cid), text: "a" }] }));
    expect(sentOf(socket(), "message").map((frame) => frame.text)).toEqual(["b", "c"]);
    expect(sentOf(socket(), "message")[0]).toMatchObject({ cid: b.cid });
    expect(welcomes.at(-1)).toMatchObject({ first: false, lost: [] });
    expect(heard.at(-1)).toBe("welcome again [2]");
  });

  it("after a resume cut short, marks what was in flight as lost and starts the list again", () => {
    const { room, socket } = joined([message(1)]);
    const lost = room.say("in flight", false);
    socket().end(1006);
    const waiting = room.say("written while away", false);
    vi.advanceTimersByTime(1000);
    socket().open();
    socket().receive(welcome({ history: [message(40), message(41)], truncated: true }));
    expect(welcomes.at(-1)!.lost).toMatchObject([{ kind: "message", cid: lost.cid }]);
    expect(room.messages.ownMessage(lost.cid)?.failed).toMatch(/^Not confirmed/);
    expect(room.messages.ownMessage(waiting.cid)?.failed).toBeNull();
    expect(sentOf(socket(), "message").map((frame) => frame.text)).toEqual(["written while away"]);
    // The list holds only what joins up with what comes next.
    expect(room.messages.messages.map((m) => m.id)).toEqual([40, 41]);
  });

  it("keeps the call's members, and says who joins and leaves it (us included)", () => {
    const { room, socket } = session();
    room.join("Kartik");
    socket().open();
    socket().receive(
      welcome({
        users: [me, ana],
        call: { members: [{ user: ana, state: { audio: true, video: false } }], maxParticipants: 4, iceServers: [] },
      }),
    );
    expect(room.callMembers.others("me")).toBe(1);
    socket().receive({ type: "call", user: ana, state: { audio: false, video: false } }); // muted: no line
    socket().receive({ type: "call", user: me, state: { audio: true, video: false } });
    expect(room.callMembers.others("me")).toBe(1);
    expect(room.callMembers.get("me")?.state).toEqual({ audio: true, video: false });
    socket().receive({ type: "renamed", user: { id: "ana", nick: "Anna" }, from: "Ana" });
    expect(room.callMembers.get("ana")?.user.nick).toBe("Anna");
    socket().receive({ type: "call", user: me, state: null });
    // Leaving the room leaves the call, without a line of its own.
    socket().receive({ type: "left", user: { id: "ana", nick: "Anna" } });
    expect(room.callMembers.get("ana")).toBeUndefined();
    expect(heard.slice(1)).toEqual([
      "call joined Kartik (you)",
      "renamed Ana→Anna",
      "call left Kartik (you)",
      "left Anna",
    ]);
  });

  it("hands a refused join to the view, and typing notices go out once per interval, only when joined", () => {
    const { room, socket } = session();
    room.join("Kartik");
    socket().open();
    room.typed("hel");
    socket().receive({ type: "error", code: "nick_taken", message: "Taken." });
    expect(heard).toEqual(["join refused nick_taken"]);
    room.join("Kartik2");
    socket().receive(welcome());
    room.typed("hel");
    room.typed("hello");
    room.typed("/nick"); // a command says nothing
    vi.advanceTimersByTime(2000);
    room.typed("hello again");
    expect(sentOf(socket(), "typing")).toHaveLength(2);
    // A sent line lets the next one say so at once.
    room.say("hello again", false);
    room.typed("n");
    expect(sentOf(socket(), "typing")).toHaveLength(3);
  });

  it("follows role changes (ours and others'), and finds whom to appoint by nickname", () => {
    const { room, socket } = joined([], [me, ana]);
    const olu = { id: "olu", nick: "Olu", role: "owner" as const };
    socket().receive({ type: "joined", user: olu });
    socket().receive({ type: "role", user: { ...me, role: "moderator" }, by: olu });
    expect(room.me).toEqual({ ...me, role: "moderator" });
    expect(room.roster.get("me")?.role).toBe("moderator");
    expect(room.setRoleByNick("nobody", "moderator")).toMatch(/Nobody called "nobody"/);
    expect(room.setRoleByNick("ANA", "moderator")).toBeNull();
    expect(sentOf(socket(), "role")).toEqual([{ type: "role", user: "ana", role: "moderator" }]);
    expect(heard.slice(1)).toEqual(["joined Olu", "role Kartik: moderator by Olu (you)"]);
  });

  it("finds whom to remove by the start of what was typed, and says who was removed by whom", () => {
    const anaB = { id: "anab", nick: "Ana B." };
    const { room, socket } = joined([], [me, ana, anaB]);
    expect(room.remove("kick", "ana b. spamming links")).toBeNull();
    expect(room.remove("ban", "Ana 90 flooding")).toBeNull();
    expect(room.remove("ban", "ana")).toBeNull();
    expect(room.remove("kick", "Anab")).toMatch(/Nobody here/);
    room.bansRequest();
    room.bansRequest("b1");
    expect(socket().frames.slice(1)).toEqual([
      { type: "kick", user: "anab", reason: "spamming links" },
      { type: "ban", user: "ana", minutes: 90, reason: "flooding" },
      { type: "ban", user: "ana" },
      { type: "bans" },
      { type: "unban", ban: "b1" },
    ]);
    socket().receive({ type: "left", user: ana, kicked: { by: me, reason: "flooding", until: null } });
    expect(notices.at(-1)).toEqual({ kind: "left", user: ana, kicked: { by: me, reason: "flooding", until: null } });
    expect(room.roster.get("ana")).toBeUndefined();
  });

  it("queues moderators' commands in order with messages, and sends them once the room is there", () => {
    const { room, socket } = session();
    room.join("Kartik");
    // Piped lines come before the welcome: a message, a topic, a message.
    room.say("first", false);
    room.changeSettings({ topic: "Demo day" });
    room.say("second", false);
    socket().open();
    expect(socket().frames.map((frame) => frame.type)).toEqual(["join"]);
    socket().receive(welcome());
    expect(socket().frames.slice(1)).toMatchObject([
      { type: "message", text: "first" },
      { type: "settings", topic: "Demo day" },
      { type: "message", text: "second" },
    ]);
    // Written is done for a command: only the messages wait for their echoes.
    expect(room.unconfirmed).toBe(2);
    // One the room would refuse is refused before it goes.
    room.changeSettings({ topic: "x".repeat(201) });
    expect(heard.at(-1)).toBe("refused /settings: A topic is at most 200 characters.");
  });

  it("stays away once a moderator removed us: the kicked frame, then 4003 and no reconnect", () => {
    const statuses: string[] = [];
    const kicked: unknown[] = [];
    const room = new RoomSession("ws://room.test/api/rooms/r/websocket", {
      status: (status, detail) => statuses.push(`${status}${detail.removed ? " (removed)" : ""}`),
      kicked: (frame) => kicked.push(frame),
    });
    room.join("Kartik");
    const socket = StubSocket.all.at(-1)!;
    socket.open();
    socket.receive(welcome());
    // Written and not confirmed when it comes: it fails, saying why.
    const waiting = room.say("are you there?", false);
    socket.receive({ type: "kicked", by: ana, reason: "spam", backAt: Date.now() + 60_000 });
    socket.end(4003);
    vi.advanceTimersByTime(60_000);
    expect(kicked).toEqual([{ type: "kicked", by: ana, reason: "spam", backAt: expect.any(Number) }]);
    expect(statuses).toEqual(["connecting", "online", "offline (removed)"]);
    expect(StubSocket.all).toHaveLength(1);
    const why = /^Not sent: Ana removed you from this room: spam\. You can come back after .+\.$/;
    expect(room.messages.own.find((own) => own.cid === waiting.cid)?.failed).toMatch(why);
    // And so does anything written after: nothing waits for ever.
    const later = room.say("hello?", false);
    expect(room.messages.own.find((own) => own.cid === later.cid)?.failed).toMatch(why);
    expect(room.unconfirmed).toBe(0);
  });

  it("says why we were removed: by whom and why, or that someone on our network was", () => {
    const soon = Date.now() + 60_000;
    expect(removedText({ type: "kicked", by: ana, reason: "spam", backAt: soon })).toMatch(
      /^Ana removed you from this room: spam\. You can come back after \S+/,
    );
    expect(removedText({ type: "kicked", by: ana, until: null, backAt: null })).toBe(
      "Ana banned you from this room for good.",
    );
    const network = removedText({ type: "kicked", by: ana, backAt: soon, network: true });
    expect(network).toMatch(
      /^Someone using your network \(your address\) was removed from this room, so you were too\./,
    );
    expect(network).not.toContain("Ana");
    expect(removedText({ type: "kicked", by: ana, backAt: null, network: true })).toMatch(/kept out for good\.$/);
  });

  it("keeps the room's settings from the welcome and every change, and says what changed", () => {
    const { room, socket } = joined();
    expect(room.settings).toEqual(DEFAULT_SETTINGS);
    room.changeSettings({ topic: "Release day", slowModeSeconds: 10 });
    expect(sentOf(socket(), "settings")).toEqual([{ type: "settings", topic: "Release day", slowModeSeconds: 10 }]);
    const settings = { ...DEFAULT_SETTINGS, topic: "Release day", slowModeSeconds: 10 };
    socket().receive({ type: "settings", settings, by: ana });
    expect(room.settings).toEqual(settings);
    expect(heard.at(-1)).toBe("settings topic,slowModeSeconds by Ana");
    expect(settingsText(room.settings, ["topic", "slowModeSeconds"], "Ana")).toEqual([
      "Ana set the topic: Release day",
      "Ana turned slow mode on: one message every 10 s",
    ]);
    // A welcome after a reconnect brings them as they are now.
    socket().end(1006);
    vi.advanceTimersByTime(1000);
    socket().open();
    socket().receive(welcome({ settings: { ...DEFAULT_SETTINGS, locked: true } }));
    expect(room.settings).toEqual({ ...DEFAULT_SETTINGS, locked: true });
  });

  it("joins with the owner key until a welcome, and not after", () => {
    const { room, socket } = session();
    room.join("Kartik", "the-key");
    socket().open();
    expect(socket().frames[0]).toEqual({ type: "join", nick: "Kartik", ownerKey: "the-key" });
    socket().receive(welcome({ you: { ...me, role: "owner" } }));
    socket().end(1006);
    vi.advanceTimersByTime(1000);
    socket().open();
    expect(socket().frames[0]).toEqual({ type: "join", nick: "Kartik", since: 0, session: "s1" });
  });

  it("applies deletions and clears, live and from a resume, and counts every log entry for since", () => {
    const { room, socket } = joined([message(1), message(2, me), message(3)]);
    const by = { ...ana, role: "moderator" as const };
    socket().receive({ type: "deleted", id: 4, ts: 4000, target: 1, by });
    expect(room.messages.get(1)).toEqual({ type: "message", id: 1, ts: 1000, from: ana, text: "", deleted: true });
    expect(heard.at(-1)).toBe("deleted 1 (held) by Ana");
    // `/delete` without an id: our newest message still here.
    expect(room.deleteLast()).toBeNull();
    expect(sentOf(socket(), "delete")).toEqual([{ type: "delete", id: 2 }]);
    // A drop: the resume asks from the deletion (the newest entry), and brings
    // what changed meanwhile, applied after the messages.
    socket().end(1006);
    vi.advanceTimersByTime(1000);
    socket().open();
    expect(socket().frames[0]).toMatchObject({ type: "join", since: 4 });
    socket().receive(
      welcome({
        history: [
          { type: "deleted", id: 5, ts: 5000, target: 2, by: me },
          message(6),
          { type: "deleted", id: 7, ts: 7000, target: 99, by },
        ],
      }),
    );
    expect(room.messages.messages.map((m) => [m.id, m.deleted === true])).toEqual([
      [1, true],
      [2, true],
      [3, false],
      [6, false],
    ]);
    expect(heard.slice(-3)).toEqual(["welcome again [6]", "deleted 2 (held) by Kartik", "deleted 99 by Ana"]);
    expect(room.deleteLast()).toMatch(/no message/);
    socket().receive({ type: "cleared", id: 8, ts: 8000, by: { ...me, role: "owner" } });
    expect(room.messages.messages).toEqual([]);
    expect(heard.at(-1)).toBe("cleared 8 by Kartik");
    socket().receive(message(9));
    socket().end(1006);
    vi.advanceTimersByTime(30_000);
    socket().open();
    expect(socket().frames[0]).toMatchObject({ type: "join", since: 9 });
  });

  it("applies edits from a resume, and passes over an edit of a message deleted since (a tombstone)", () => {
    const { room, socket } = joined([message(1), message(2)]);
    socket().end(1006);
    vi.advanceTimersByTime(1000);
    socket().open();
    const edit = (id: number, target: number, text: string) => ({ type: "edited", id, target, text, ts: id, by: ana });
    socket().receive(
      welcome({
        history: [
          edit(3, 1, "m1, now"),
          { ...edit(4, 2, ""), deleted: true },
          edit(5, 1, "m1, now"),
          { type: "deleted", id: 6, ts: 6000, target: 2, by: ana },
        ],
      }),
    );
    expect(room.messages.messages.map((m) => [m.id, m.text, m.deleted === true])).toEqual([
      [1, "m1, now", false],
      [2, "", true],
    ]);
    expect(heard.slice(-4)).toEqual([
      "welcome again []",
      "edited 1 (held): m1, now",
      "edited 1 (held): m1, now",
      "deleted 2 (held) by Ana",
    ]);
  });

  it("applies reactions once each, live and from a resume; toggles ours; searches; knows our mentions", () => {
    const { room, socket } = joined([message(1), { ...message(2), mentions: ["me"] }]);
    expect(room.mentionsMe(room.messages.get(2)!)).toBe(true);
    expect(room.mentionsMe(room.messages.get(1)!)).toBe(false);
    socket().receive({ type: "reacted", id: 3, target: 1, emoji: "👍", user: ana, on: true, ts: 3000 });
    expect(room.messages.get(1)?.reactions).toEqual({ "👍": ["ana"] });
    expect(heard.at(-1)).toBe("reacted 👍 true on 1 (held)");
    // Ours: on, then (once the room says so) off again.
    room.toggleReaction(1, "👍");
    expect(sentOf(socket(), "react")).toEqual([{ type: "react", id: 1, emoji: "👍", on: true }]);
    socket().receive({ type: "reacted", id: 4, target: 1, emoji: "👍", user: me, on: true, ts: 4000 });
    expect(room.messages.get(1)?.reactions).toEqual({ "👍": ["ana", "me"] });
    expect(room.reactLast("👍")).toBeNull(); // the newest message, 2: not ours yet
    room.toggleReaction(1, "👍");
    expect(sentOf(socket(), "react").slice(1)).toEqual([
      { type: "react", id: 2, emoji: "👍", on: true },
      { type: "react", id: 1, emoji: "👍", on: false },
    ]);
    // A resume brings the message as it is now and the entries after it: applied once.
    socket().end(1006);
    vi.advanceTimersByTime(1000);
    socket().open();
    expect(socket().frames[0]).toMatchObject({ type: "join", since: 4 });
    socket().receive(
      welcome({
        history: [
          { type: "reacted", id: 5, target: 1, emoji: "👍", user: me, on: false, ts: 5000 },
          { ...message(6), reactions: { "🎉": ["ana"] } },
          { type: "reacted", id: 7, target: 6, emoji: "🎉", user: ana, on: true, ts: 7000 },
          { type: "reacted", id: 8, target: 1, emoji: "👍", user: ana, on: false, ts: 8000 },
        ],
      }),
    );
    expect(room.messages.get(1)?.reactions).toBeUndefined();
    expect(room.messages.get(6)?.reactions).toEqual({ "🎉": ["ana"] });
    expect(room.search("café", 9)).toBe(true);
    expect(sentOf(socket(), "search")).toEqual([{ type: "search", query: "café", before: 9 }]);
    socket().receive({ type: "results", query: "café", messages: [message(6)], complete: true });
    expect(heard.at(-1)).toBe("results café: 6");
  });

  it("asks for older pages and adds them before the oldest held", () => {
    const { room, socket } = joined([message(5), message(6)]);
    expect(room.requestHistory(5)).toBe(true);
    expect(sentOf(socket(), "history")).toEqual([{ type: "history", before: 5 }]);
    socket().receive({ type: "history", before: 5, messages: [message(3), message(4)] });
    expect(room.messages.messages.map((m) => m.id)).toEqual([3, 4, 5, 6]);
    expect(heard.at(-1)).toBe("older 5");
    socket().end(1006);
    expect(room.requestHistory(3)).toBe(false);
  });
});

describe("MessageList", () => {
  it("edits a message held, and the quotes of replies to it", () => {
    const list = new MessageList();
    const reply: MessageFrame = { ...message(2, me), replyTo: { id: 1, from: ana, text: "m1" } };
    list.add([message(1), reply], me.id);
    expect(list.edit(1, "m1, fixed", 5000)).toMatchObject({ id: 1, text: "m1, fixed", edited: 5000 });
    expect(list.get(2)?.replyTo).toEqual({ id: 1, from: ana, text: "m1, fixed" });
    expect(list.edit(99, "x", 5000)).toBeUndefined();
  });

  it("counts reactions in a crowd: ten named, the rest counted, ours kept apart; each entry applied once", () => {
    const named = Array.from({ length: 10 }, (_, i) => `u${i}`);
    const crowded: MessageFrame = {
      ...message(1),
      reactions: { "👍": named, "🎉": ["u0"] },
      reactionCounts: { "👍": 30 },
      yourReactions: [],
    };
    const summary = (m: MessageFrame) => reactionsOf(m, me.id).map((r) => [r.emoji, r.count, r.users.length, r.mine]);
    expect(summary(crowded)).toEqual([
      ["👍", 30, 10, false],
      ["🎉", 1, 1, false],
    ]);
    // Ours, not named: counted, and ours.
    const mine = withReaction(crowded, { emoji: "👍", user: me.id, on: true, count: 31 }, me.id);
    expect(mine).toMatchObject({ reactionCounts: { "👍": 31 }, yourReactions: ["👍"] });
    expect(summary(mine)[0]).toEqual(["👍", 31, 10, true]);
    // The same entry again (a resume): the count is set, not added to.
    expect(withReaction(mine, { emoji: "👍", user: me.id, on: true, count: 31 }, me.id).reactionCounts).toEqual({
      "👍": 31,
    });
    // Someone named takes theirs back: one name fewer, counted still.
    const fewer = withReaction(mine, { emoji: "👍", user: "u3", on: false, count: 30 }, me.id);
    expect(fewer.reactions?.["👍"]).toEqual(named.filter((id) => id !== "u3"));
    expect(summary(fewer)[0]).toEqual(["👍", 30, 9, true]);
    // Someone taking back an emoji nobody counted changes nothing.
    expect(withReaction(fewer, { emoji: "🎉", user: "u7", on: false }, me.id)).toBe(fewer);
    // A small list grows by name up to ten, then counts: an entry without
    // a count (from before rooms counted) adds one.
    let small: MessageFrame = { ...message(2), reactions: { "😮": ["u0"] } };
    for (let i = 1; i < 10; i++)
      small = withReaction(small, { emoji: "😮", user: `u${i}`, on: true, count: i + 1 }, me.id);
    expect(small.reactions?.["😮"]).toHaveLength(10);
    expect(small.reactionCounts).toBeUndefined();
    small = withReaction(small, { emoji: "😮", user: "u10", on: true }, me.id);
    expect(small).toMatchObject({ reactionCounts: { "😮": 11 }, yourReactions: [] });
    // Back to ten, all named: no counts, no yourReactions.
    small = withReaction(small, { emoji: "😮", user: "u10", on: false, count: 10 }, me.id);
    expect(small.reactionCounts).toBeUndefined();
    expect(small.yourReactions).toBeUndefined();
    expect(small.reactions?.["😮"]).toHaveLength(10);
  });

  it("marks the quotes of replies to a deleted message as deleted", () => {
    const list = new MessageList();
    const reply: MessageFrame = { ...message(2, me), replyTo: { id: 1, from: ana, text: "m1" } };
    list.add([message(1), reply, message(3)], me.id);
    expect(list.repliesTo(1).map((m) => m.id)).toEqual([2]);
    list.delete(1);
    expect(list.get(2)?.replyTo).toEqual({ id: 1, from: ana, text: "", deleted: true });
    expect(list.get(1)).toMatchObject({ deleted: true, text: "" });
  });

  it("keeps the newest MAX_KEPT messages in id order, found by id", () => {
    const list = new MessageList();
    const all = Array.from({ length: MAX_KEPT + 10 }, (_, i) => message(i + 1));
    expect(list.add(all.slice(0, 500), "me")).toHaveLength(500);
    // What is already held is skipped.
    expect(list.add(all.slice(490), "me")).toHaveLength(all.length - 500);
    expect(list.messages).toHaveLength(MAX_KEPT);
    expect(list.oldestId).toBe(11);
    expect(list.newestId).toBe(MAX_KEPT + 10);
    expect(list.get(11)?.id).toBe(11);
    expect(list.get(500)?.text).toBe("m500");
    expect(list.get(10)).toBeUndefined();
    expect(list.prepend([message(9), message(10), message(11)])).toHaveLength(2);
    expect(list.oldestId).toBe(9);
  });
});
