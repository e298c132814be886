/**
 * The room, end to end: real WebSockets through the Worker, a real Durable
 * Object and its real SQLite storage. Limits here come from vitest.config.ts
 * (history on join 20, on resume 30, retention 50, 8 connections a room).
 */
import { evictDurableObject, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { CLOSE_SESSION_TAKEN_OVER, type MessageFrame, type User } from "../src/shared/protocol";
import type { Room } from "../src/worker/room";
import { TestSocket, aliceAndBob, freshRoom, texts } from "./socket";

const roomStub = (room: string) => env.ROOMS.getByName(room);
/** The roster's order is not part of the protocol. */
const byId = (users: User[]) => [...users].sort((a, b) => a.id.localeCompare(b.id));

/** Sends `count` messages from `socket` and collects their echoes. */
async function sendMessages(socket: TestSocket, count: number, prefix: string): Promise<void> {
  for (let i = 0; i < count; i++) socket.send({ type: "message", text: `${prefix}${i}`, cid: `${prefix}${i}` });
}

async function collectMessages(socket: TestSocket, count: number): Promise<MessageFrame[]> {
  const messages: MessageFrame[] = [];
  while (messages.length < count) messages.push(await socket.expect("message"));
  return messages;
}

describe("joining", () => {
  it("welcomes with identity, session, roster, history and limits; tells the others", async () => {
    const room = freshRoom("Lobby");
    const [alice, aliceWelcome] = await TestSocket.join(room, "  Alice  ");
    expect(aliceWelcome).toMatchObject({
      type: "welcome",
      room: room.toLowerCase(),
      you: { nick: "Alice" },
      users: [{ nick: "Alice" }],
      history: [],
      limits: {
        messageLength: 4000,
        nickLength: 32,
        typingIntervalMs: 2000,
        rateBurst: 10,
        ratePerSecond: 5,
        fileBytes: 262_144,
      },
    });
    expect(aliceWelcome.you.id).toMatch(/^[a-z2-7]{16}$/);
    expect(aliceWelcome.session).toMatch(/^[a-z2-7]{32}$/);
    expect(aliceWelcome.truncated).toBeUndefined();

    const [bob, bobWelcome] = await TestSocket.join(room, "Bob");
    expect(byId(bobWelcome.users)).toEqual(byId([aliceWelcome.you, bobWelcome.you]));
    expect(await alice.expect("joined")).toEqual({ type: "joined", user: bobWelcome.you });
    await bob.expectSilence(); // no "joined" about oneself
  });

  it("normalises nicknames to NFC before comparing and storing them", async () => {
    const room = freshRoom();
    const [, welcome] = await TestSocket.join(room, "Jose\u0301"); // e + combining acute
    expect(welcome.you.nick).toBe("Jos\u00e9");
    const [other] = await TestSocket.join(room, "Other");
    other.send({ type: "nick", nick: "Jos\u00e9" });
    expect((await other.expect("error")).code).toBe("nick_taken");
  });

  it("refuses a nickname already present, compared case- and width-insensitively", async () => {
    const room = freshRoom();
    await TestSocket.join(room, "Kartik");
    for (const nick of ["kartik", "KARTIK", "\uff2b\uff41\uff52\uff54\uff49\uff4b" /* full-width */]) {
      const socket = await TestSocket.open(room);
      socket.send({ type: "join", nick });
      expect(await socket.expect("error")).toMatchObject({ code: "nick_taken" });
    }
  });

  it("refuses a look-alike of a present nickname (homoglyphs), on join and on rename, and frees it when they leave", async () => {
    const room = freshRoom();
    const [alice] = await TestSocket.join(room, "Alice");
    for (const nick of ["\u0410lice" /* Cyrillic А */, "A1ice", "AIice", "Alic\u00e9"]) {
      const socket = await TestSocket.open(room);
      socket.send({ type: "join", nick });
      expect(await socket.expect("error"), nick).toMatchObject({ code: "nick_taken" });
    }
    const [mallory] = await TestSocket.join(room, "Mallory");
    await alice.expect("joined");
    mallory.send({ type: "nick", nick: "\u0410l\u0456ce" /* Cyrillic А and і */ });
    expect(await mallory.expect("error")).toMatchObject({ code: "nick_taken" });
    alice.close();
    await mallory.expect("left");
    mallory.send({ type: "nick", nick: "\u0410l\u0456ce" });
    expect(await mallory.expect("renamed")).toMatchObject({ user: { nick: "\u0410l\u0456ce" } });
  });

  it("refuses the impostors of the attack table: fillers as invalid, look-alikes as taken", async () => {
    const room = freshRoom();
    await TestSocket.join(room, "Alice");
    const attempts: [string, string][] = [
      ["Alice\u3164", "nick_invalid"],
      ["Alice\u115f", "nick_invalid"],
      ["Alice\u2800", "nick_invalid"],
      ["\u3164", "nick_invalid"],
      ["\ua4eelice", "nick_taken"], // Lisu
      ["\u13aalice", "nick_taken"], // Cherokee
      ["\u1d00lice", "nick_taken"], // small capital
      ["A\u01c0ice", "nick_taken"], // dental click
    ];
    for (const [nick, code] of attempts) {
      const socket = await TestSocket.open(room);
      socket.send({ type: "join", nick });
      expect(await socket.expect("error"), JSON.stringify(nick)).toMatchObject({ code });
      socket.close();
    }
  });

  it("refuses invalid nicknames, and lets the same socket try again", async () => {
    const room = freshRoom();
    const socket = await TestSocket.open(room);
    const invalid = [
      "", // empty
      "   ", // blank
      "a".repeat(33), // over 32 characters
      "evil\u202etxt.exe", // right-to-left override (Cf)
      "Ali\u200dce", // zero-width joiner (Cf)
      "zero\u200bwidth", // zero-width space (Cf)
      "line\nbreak", // control (Cc)
      "bell\u0007", // control (Cc)
      "sep\u2028arator", // line separator (Zl)
      "\ud800lonely", // a lone surrogate
    ];
    for (const [i, nick] of invalid.entries()) {
      // Half on another socket: each frame costs a token (burst 10).
      const target = i < 5 ? socket : await TestSocket.open(room);
      target.send({ type: "join", nick });
      const error = await target.expect("error");
      expect(error.code, JSON.stringify(nick)).toBe("nick_invalid");
    }
    // 32 characters are fine, counted as code points (emoji are one each).
    const welcome = await socket.joinAs("😀".repeat(32));
    expect(welcome.you.nick).toBe("😀".repeat(32));
  });

  it("must come first, and only once", async () => {
    const room = freshRoom();
    const socket = await TestSocket.open(room);
    socket.send({ type: "message", text: "hello?", cid: "early" });
    expect(await socket.expect("error")).toMatchObject({ code: "not_joined", cid: "early" });
    socket.send({ type: "typing" });
    expect((await socket.expect("error")).code).toBe("not_joined");
    socket.send({ type: "nick", nick: "Sneaky" });
    expect((await socket.expect("error")).code).toBe("not_joined");
    await socket.joinAs("First");
    socket.send({ type: "join", nick: "Second" });
    expect((await socket.expect("error")).code).toBe("already_joined");
    // Nothing changed: the roster still has "First" only.
    const [, welcome] = await TestSocket.join(room, "Watcher");
    expect(welcome.users.map((u) => u.nick)).toEqual(["First", "Watcher"]);
  });

  it("processes a join and the frames right behind it in order", async () => {
    const room = freshRoom();
    const socket = await TestSocket.open(room);
    socket.send({ type: "join", nick: "Eager" });
    socket.send({ type: "message", text: "first words", cid: "a" });
    await socket.expect("welcome");
    expect(await socket.expect("message")).toMatchObject({ text: "first words", cid: "a", id: 1 });
  });

  it("refuses connections over the room's limit with room_full, in-band, once everyone has joined", async () => {
    const room = freshRoom();
    const sockets: TestSocket[] = [];
    for (let i = 0; i < 8; i++) sockets.push((await TestSocket.join(room, `P${i}`))[0]);
    const extra = await TestSocket.open(room);
    expect(await extra.expect("error")).toMatchObject({ code: "room_full" });
    expect(await extra.closeEvent()).toMatchObject({ code: 1013 });
    // A place frees up when someone leaves.
    sockets[0]!.close();
    await sockets[0]!.closeEvent();
    const again = await TestSocket.open(room);
    await again.joinAs("Latecomer");
  });
});

describe("messages", () => {
  it("go to everyone, sender included, with server-side identity, id, time and cid", async () => {
    const { alice, aliceWelcome, bob } = await aliceAndBob();
    const before = Date.now();
    // A client cannot speak in someone else's name: extra fields are ignored.
    bob.send({ type: "message", text: "  hi all  ", cid: "c-1", from: aliceWelcome.you, id: 99 });
    const atAlice = await alice.expect("message");
    const atBob = await bob.expect("message");
    expect(atAlice).toEqual(atBob);
    expect(atBob).toMatchObject({ type: "message", id: 1, text: "hi all", cid: "c-1", from: { nick: "Bob" } });
    expect(atBob.from.id).not.toBe(aliceWelcome.you.id);
    expect(atBob.ts).toBeGreaterThanOrEqual(before - 1000);
    bob.send({ type: "message", text: "no cid" });
    const second = await alice.expect("message");
    expect(second.id).toBe(2);
    expect("cid" in second).toBe(false);
  });

  it("reach nobody when their write fails: the sender gets internal with its cid, and the id is given again", async () => {
    const { room, alice, bob } = await aliceAndBob();
    alice.send({ type: "message", text: "first" });
    expect((await bob.expect("message")).id).toBe(1);
    await alice.expect("message");
    // A real SQLite failure, for this one text: the room's write of that turn fails.
    await runInDurableObject(env.ROOMS.getByName(room), (_instance, ctx) => {
      ctx.storage.sql.exec(
        "CREATE TRIGGER refuse_boom BEFORE INSERT ON messages WHEN NEW.text = 'boom' BEGIN SELECT RAISE(ABORT, 'disk full'); END",
      );
    });
    bob.send({ type: "message", text: "boom", cid: "b-1" });
    expect(await bob.expect("error")).toMatchObject({ code: "internal", cid: "b-1" });
    bob.send({ type: "message", text: "after", cid: "b-2" });
    // Alice's next message is the one after: the failed one never reached her.
    expect(await alice.expect("message")).toMatchObject({ id: 2, text: "after" });
    expect(await bob.expect("message")).toMatchObject({ id: 2, text: "after", cid: "b-2" });
    const [, welcome] = await TestSocket.join(room, "Carol");
    expect(texts(welcome.history)).toEqual(["first", "after"]);
  });

  it("keep line breaks and tabs, normalise CRLF, and refuse other control characters", async () => {
    const room = freshRoom();
    const [alice] = await TestSocket.join(room, "Alice");
    alice.send({ type: "message", text: "line one\r\nline\ttwo\rthree" });
    expect((await alice.expect("message")).text).toBe("line one\nline\ttwo\nthree");
    alice.send({ type: "message", text: "\u001b[2Jcleared your terminal", cid: "esc" });
    expect(await alice.expect("error")).toMatchObject({ code: "bad_frame", cid: "esc" });
  });

  it("are 1 to 4000 characters after trimming", async () => {
    const room = freshRoom();
    const [alice] = await TestSocket.join(room, "Alice");
    alice.send({ type: "message", text: " \n\t ", cid: "blank" });
    expect(await alice.expect("error")).toMatchObject({ code: "bad_frame", cid: "blank" });
    alice.send({ type: "message", text: "x".repeat(4001), cid: "long" });
    expect(await alice.expect("error")).toMatchObject({ code: "too_long", cid: "long" });
    alice.send({ type: "message", text: "x".repeat(4000) });
    expect((await alice.expect("message")).text).toHaveLength(4000);
    // Characters are code points: 4000 emoji (8000 UTF-16 units) fit.
    alice.send({ type: "message", text: "🎉".repeat(4000) });
    expect((await alice.expect("message")).text).toBe("🎉".repeat(4000));
    alice.send({ type: "message", text: "🎉".repeat(4001) });
    expect((await alice.expect("error")).code).toBe("too_long");
  });

  it("refuse bad JSON, bad shapes and binary frames, keeping the connection and state", async () => {
    const room = freshRoom();
    const [alice] = await TestSocket.join(room, "Alice");
    const cases: [string | ArrayBuffer, string][] = [
      ["{not json", "bad_json"],
      ["", "bad_json"],
      ["[1,2]", "bad_frame"],
      ['"just a string"', "bad_frame"],
      ["null", "bad_frame"],
      ['{"type":"shout","text":"hi"}', "bad_frame"],
      ['{"text":"no type"}', "bad_frame"],
      ['{"type":"message","text":42}', "bad_frame"],
      ['{"type":"message","text":"hi","cid":7}', "bad_frame"],
      [`{"type":"message","text":"hi","cid":"${"c".repeat(65)}"}`, "bad_frame"],
      ['{"type":"nick","nick":null}', "bad_frame"],
      ['{"type":"join","nick":"X","since":-1}', "bad_frame"], // parsed before the socket's state is looked at
      ['{"type":"join","nick":"X"}', "already_joined"],
      [new TextEncoder().encode('{"type":"message","text":"binary"}').buffer as ArrayBuffer, "bad_frame"],
    ];
    // Spread over time: every frame costs a rate-limit token.
    for (const [frame, code] of cases) {
      alice.ws.send(frame);
      expect((await alice.expect("error")).code, String(frame)).toBe(code);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    alice.send({ type: "message", text: "still here" });
    expect(await alice.expect("message")).toMatchObject({ id: 1, text: "still here" });
  });

  it("refuse a bad since or session on join", async () => {
    const room = freshRoom();
    const socket = await TestSocket.open(room);
    for (const extra of [
      { since: -1 },
      { since: 1.5 },
      { since: "3" },
      { session: 42 },
      { session: "s".repeat(129) },
    ]) {
      socket.send({ type: "join", nick: "Resumer", ...extra });
      expect((await socket.expect("error")).code, JSON.stringify(extra)).toBe("bad_frame");
    }
  });

  it("over the frame size limit get too_long and close 1009", async () => {
    const { alice, bob } = await aliceAndBob();
    // 6000 three-byte characters: 18,000 bytes, though only 6000 UTF-16 units.
    bob.send({ type: "message", text: "€".repeat(6000) });
    expect((await bob.expect("error")).code).toBe("too_long");
    expect(await bob.closeEvent()).toMatchObject({ code: 1009 });
    expect((await alice.expect("left")).user.nick).toBe("Bob");
  });

  it("keep ids gapless and one order for everyone under concurrent senders", async () => {
    const room = freshRoom();
    const senders: TestSocket[] = [];
    for (let i = 0; i < 4; i++) senders.push((await TestSocket.join(room, `sender${i}`))[0]);
    const [watcher] = await TestSocket.join(room, "watcher");
    // Drain the join notices.
    for (let i = 0; i < senders.length; i++) {
      for (let j = i + 1; j < senders.length; j++) await senders[i]!.expect("joined");
      await senders[i]!.expect("joined"); // the watcher
    }
    await Promise.all(senders.map((s, i) => sendMessages(s, 9, `s${i}-`)));
    const seen = await Promise.all([watcher, ...senders].map((s) => collectMessages(s, 36)));
    const ids = seen[0]!.map((m) => m.id);
    expect(ids).toEqual(Array.from({ length: 36 }, (_, i) => i + 1));
    for (const view of seen) expect(view).toEqual(seen[0]);
    // Each sender's own messages keep the order they were sent in.
    for (let i = 0; i < 4; i++) {
      const own = seen[0]!.filter((m) => m.from.nick === `sender${i}`).map((m) => m.cid);
      expect(own).toEqual(Array.from({ length: 9 }, (_, k) => `s${i}-${k}`));
    }
  });
});

describe("when messages go out", () => {
  // The batching rule (src/worker/connections.ts): an idle room stores and sends a
  // message within the event that brought it; a busy one (it flushed under
  // BUSY_WINDOW_MS ago) lets the frames already waiting join the turn. Driven
  // here by calling the room's handler at chosen points: time in a Durable
  // Object stands still between I/O, so frames handled back to back arrive
  // "at once", exactly as a burst's do.
  it("stores and sends a lone message within its own event, and batches the frames of a burst", async () => {
    const { room, alice, bob } = await aliceAndBob();
    await bob.expectSilence(100);
    const stored = (ctx: DurableObjectState) =>
      ctx.storage.sql.exec<{ n: number }>("SELECT count(*) AS n FROM messages").one().n;
    const rawBefore = bob.raw.length;
    await runInDurableObject(roomStub(room), async (instance: Room, ctx) => {
      const sender = ctx
        .getWebSockets()
        .find((ws) => (ws.deserializeAttachment() as { user: User | null }).user?.nick === "Alice")!;
      instance.webSocketMessage(sender, JSON.stringify({ type: "message", text: "lone", cid: "l" }));
      await Promise.resolve(); // microtasks only: no timer, no I/O
      expect(stored(ctx)).toBe(1);

      // Two more in the same instant: the room has just flushed, so it is
      // busy, and they wait for whatever else is arriving, then go out together.
      instance.webSocketMessage(sender, JSON.stringify({ type: "message", text: "two", cid: "2" }));
      instance.webSocketMessage(sender, JSON.stringify({ type: "message", text: "three", cid: "3" }));
      await Promise.resolve();
      expect(stored(ctx)).toBe(1);
      for (let i = 0; i < 500 && stored(ctx) < 3; i++) await new Promise((resolve) => setTimeout(resolve, 10));
      expect(stored(ctx)).toBe(3);
    });
    expect((await collectMessages(bob, 3)).map((m) => m.text)).toEqual(["lone", "two", "three"]);
    expect((await collectMessages(alice, 3)).map((m) => m.cid)).toEqual(["l", "2", "3"]);
    // Bob got the lone message as a frame of its own, the other two as one array.
    const raw = bob.raw.slice(rawBefore);
    expect(raw).toHaveLength(2);
    expect(JSON.parse(raw[0]!)).toMatchObject({ type: "message", text: "lone" });
    expect((JSON.parse(raw[1]!) as MessageFrame[]).map((m) => m.text)).toEqual(["two", "three"]);
  });
});

describe("silent clients (half-open connections)", () => {
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

  it("drops a client that pinged and then went silent, once, and tells the others", async () => {
    const { alice, bob, bobWelcome } = await aliceAndBob();
    bob.send("ping"); // Bob's client pings: it promises to keep doing so
    await sleep(2000); // PING_TIMEOUT_MS is 1500 in the tests
    alice.send({ type: "message", text: "anyone?" }); // any activity runs the check
    expect(await bob.closeEvent()).toMatchObject({ code: 4002, reason: "ping timeout" });
    expect(await alice.expect("left")).toEqual({ type: "left", user: bobWelcome.you });
    // Alice never pinged, so her silence meant nothing: she is still here.
    expect((await alice.expect("message")).text).toBe("anyone?");
    await alice.expectSilence(300); // no second "left" when Bob's close comes back
  });

  it("keeps a client that keeps pinging, and checks before a newcomer sees the roster", async () => {
    const { room, alice, bob } = await aliceAndBob();
    alice.send("ping");
    bob.send("ping");
    for (let i = 0; i < 5; i++) {
      await sleep(500);
      bob.send("ping"); // Bob keeps pinging; Alice stops
    }
    const [, welcome] = await TestSocket.join(room, "Carol");
    expect(welcome.users.map((u) => u.nick).sort()).toEqual(["Bob", "Carol"]);
    expect((await alice.closeEvent()).code).toBe(4002);
    expect(bob.closed).toBeNull();
  });
});

describe("server faults", () => {
  it("answer internal without details, broadcast nothing, and keep the connection and ids", async () => {
    const { room, alice, bob } = await aliceAndBob();
    alice.send({ type: "message", text: "one" });
    await alice.expect("message");
    await bob.expect("message");
    // A real storage failure: the table the next write needs is gone.
    await runInDurableObject(roomStub(room), (_, state) => {
      state.storage.sql.exec("ALTER TABLE messages RENAME TO messages_away");
    });
    alice.send({ type: "message", text: "two", cid: "c2" });
    const error = await alice.expect("error");
    expect(error.code).toBe("internal");
    expect(error.message).not.toMatch(/sql|table|messages|Error:|at /i);
    await bob.expectSilence();
    await runInDurableObject(roomStub(room), (_, state) => {
      state.storage.sql.exec("ALTER TABLE messages_away RENAME TO messages");
    });
    alice.send({ type: "message", text: "two again" });
    expect(await bob.expect("message")).toMatchObject({ id: 2, text: "two again" });
  });
});

describe("actions", () => {
  it("are messages with action: true, kept as such in the history", async () => {
    const { room, alice, bob } = await aliceAndBob();
    alice.send({ type: "message", text: "waves", action: true, cid: "w" });
    expect(await bob.expect("message")).toMatchObject({ text: "waves", action: true, cid: "w" });
    alice.send({ type: "message", text: "plain", action: false });
    expect("action" in (await bob.expect("message"))).toBe(false);
    await collectMessages(alice, 2);
    alice.send({ type: "message", text: "bad", action: "yes", cid: "b" });
    expect(await alice.expect("error")).toMatchObject({ code: "bad_frame", cid: "b" });
    const [, welcome] = await TestSocket.join(room, "Carol");
    expect(welcome.history.map((m) => m.type === "message" && m.action)).toEqual([true, undefined]);
  });
});

describe("scroll-back (history requests)", () => {
  it("answers the asker alone with the page before an id", async () => {
    const room = freshRoom();
    const senders: TestSocket[] = [];
    for (let i = 0; i < 3; i++) senders.push((await TestSocket.join(room, `s${i}`))[0]);
    for (const [i, s] of senders.entries()) await sendMessages(s, 9, `m${i}-`);
    await waitForMessageCount(room, 27);
    const [bystander] = await TestSocket.join(room, "bystander");
    const [reader, welcome] = await TestSocket.join(room, "reader");
    await bystander.expect("joined");
    const oldest = welcome.history[0]!.id; // 8: the welcome held the newest 20
    reader.send({ type: "history", before: oldest });
    const page = await reader.expect("history");
    expect(page.before).toBe(oldest);
    expect(page.messages.map((m) => m.id)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(page.complete).toBe(true);
    reader.send({ type: "history", before: 3 });
    expect(await reader.expect("history")).toMatchObject({ before: 3, complete: true });
    await bystander.expectSilence();
  });

  it("refuses a request before joining or with a bad id", async () => {
    const room = freshRoom();
    const socket = await TestSocket.open(room);
    socket.send({ type: "history", before: 10 });
    expect((await socket.expect("error")).code).toBe("not_joined");
    await socket.joinAs("Asker");
    for (const before of [0, -1, 2.5, "9", null]) {
      socket.send({ type: "history", before });
      expect((await socket.expect("error")).code, JSON.stringify(before)).toBe("bad_frame");
    }
  });
});

describe("typing", () => {
  it("is relayed to the others only, at most once per interval", async () => {
    const { alice, aliceWelcome, bob } = await aliceAndBob();
    alice.send({ type: "typing" });
    alice.send({ type: "typing" }); // within 2 s: dropped silently
    alice.send({ type: "message", text: "done typing" });
    expect(await bob.expect("typing")).toEqual({ type: "typing", user: aliceWelcome.you });
    expect((await bob.expect("message")).text).toBe("done typing");
    expect((await alice.expect("message")).text).toBe("done typing"); // no typing echo before it
  });
});

describe("renaming", () => {
  it("tells everyone, the renamer included, and keeps the user id", async () => {
    const { alice, aliceWelcome, bob } = await aliceAndBob();
    alice.send({ type: "nick", nick: " Alicia " });
    const renamed = { type: "renamed", user: { id: aliceWelcome.you.id, nick: "Alicia" }, from: "Alice" };
    expect(await alice.expect("renamed")).toEqual(renamed);
    expect(await bob.expect("renamed")).toEqual(renamed);
    alice.send({ type: "message", text: "new name" });
    expect((await bob.expect("message")).from).toEqual(renamed.user);
    // The old name is free again; the new one is taken.
    bob.send({ type: "nick", nick: "ALICIA" });
    expect((await bob.expect("error")).code).toBe("nick_taken");
    bob.send({ type: "nick", nick: "alice" });
    expect((await bob.expect("renamed")).user.nick).toBe("alice");
  });

  it("to one's own name in another case is a rename; to the same name only a confirmation", async () => {
    const room = freshRoom();
    const [alice] = await TestSocket.join(room, "alice");
    const [bob] = await TestSocket.join(room, "Bob");
    await alice.expect("joined");
    alice.send({ type: "nick", nick: "Alice" });
    expect((await bob.expect("renamed")).user.nick).toBe("Alice");
    expect((await alice.expect("renamed")).from).toBe("alice");
    alice.send({ type: "nick", nick: "Alice" });
    expect((await alice.expect("renamed")).from).toBe("Alice");
    await bob.expectSilence();
  });

  it("refuses invalid names and leaves the old one", async () => {
    const room = freshRoom();
    const [alice] = await TestSocket.join(room, "Alice");
    alice.send({ type: "nick", nick: "A\u202eB" });
    expect((await alice.expect("error")).code).toBe("nick_invalid");
    alice.send({ type: "message", text: "same me" });
    expect((await alice.expect("message")).from.nick).toBe("Alice");
  });
});

describe("leaving and the close handshake", () => {
  it("answers a clean close with a clean close, then tells the others", async () => {
    const { room, alice, bob, bobWelcome } = await aliceAndBob();
    bob.close(1000, "see you");
    expect((await bob.closeEvent()).code).toBe(1000);
    expect(await alice.expect("left")).toEqual({ type: "left", user: bobWelcome.you });
    // Application close codes are echoed too.
    const [carol] = await TestSocket.join(room, "Carol");
    await alice.expect("joined");
    carol.close(4000, "custom");
    expect((await carol.closeEvent()).code).toBe(4000);
    expect((await alice.expect("left")).user.nick).toBe("Carol");
  });

  it("answers a close without a code (1005) with a bare close", async () => {
    const { alice, bob } = await aliceAndBob();
    bob.ws.close();
    expect((await bob.closeEvent()).code).toBe(1005);
    expect((await alice.expect("left")).user.nick).toBe("Bob");
  });

  it("says nothing when a socket that never joined goes away", async () => {
    const room = freshRoom();
    const [alice] = await TestSocket.join(room, "Alice");
    const lurker = await TestSocket.open(room);
    lurker.close();
    await lurker.closeEvent();
    await alice.expectSilence();
  });

  it("answers ping with pong without a frame of its own", async () => {
    const room = freshRoom();
    const socket = await TestSocket.open(room);
    socket.send("ping");
    await socket.expectSilence(200);
    expect(socket.raw).toEqual(["pong"]);
  });
});

describe("history", () => {
  it("sends the last messages on join, oldest first, and resumes after `since` without gaps or duplicates", async () => {
    const room = freshRoom();
    const senders: TestSocket[] = [];
    for (let i = 0; i < 3; i++) senders.push((await TestSocket.join(room, `s${i}`))[0]);
    for (const [i, s] of senders.entries()) await sendMessages(s, 9, `m${i}-`);
    await waitForMessageCount(room, 27);
    const [, welcome] = await TestSocket.join(room, "watcher");
    expect(welcome.history.map((m) => m.id)).toEqual(Array.from({ length: 20 }, (_, i) => 8 + i));
    expect(welcome.truncated).toBeUndefined();

    const [resumer, resumed] = await TestSocket.join(room, "resumer", { since: 20 });
    expect(resumed.history.map((m) => m.id)).toEqual(Array.from({ length: 7 }, (_, i) => 21 + i));
    expect(resumed.truncated).toBeUndefined();
    resumer.close();

    // Nothing missed: an empty history, not truncated.
    const [, upToDate] = await TestSocket.join(room, "current", { since: 27 });
    expect(upToDate.history).toEqual([]);
    expect(upToDate.truncated).toBeUndefined();
  });

  it("says truncated when more messages were missed than a resume sends", async () => {
    const room = freshRoom();
    const senders: TestSocket[] = [];
    for (let i = 0; i < 4; i++) senders.push((await TestSocket.join(room, `s${i}`))[0]);
    for (const [i, s] of senders.entries()) await sendMessages(s, 9, `m${i}-`);
    await waitForMessageCount(room, 36);
    const [, resumed] = await TestSocket.join(room, "late", { since: 2 });
    // 34 missed, 30 sent (the newest), and the gap is admitted.
    expect(resumed.truncated).toBe(true);
    expect(resumed.history.map((m) => m.id)).toEqual(Array.from({ length: 30 }, (_, i) => 7 + i));
  });

  it("keeps only the newest messages (retention), and survives eviction", async () => {
    const room = freshRoom();
    const senders: TestSocket[] = [];
    // 7 × 9 = 63 messages (the join took one token of each sender's 10).
    for (let i = 0; i < 7; i++) senders.push((await TestSocket.join(room, `s${i}`))[0]);
    for (const [i, s] of senders.entries()) await sendMessages(s, 9, `m${i}-`);
    await collectMessages(senders[6]!, 63);
    const stub = roomStub(room);
    const rows = await runInDurableObject(stub, (_, state) =>
      state.storage.sql
        .exec<{ n: number; lo: number; hi: number }>("SELECT count(*) AS n, min(id) AS lo, max(id) AS hi FROM messages")
        .one(),
    );
    expect(rows).toEqual({ n: 50, lo: 14, hi: 63 });

    await evictDurableObject(stub, { webSockets: "close" });
    const [fresh, welcome] = await TestSocket.join(room, "after-restart");
    expect(welcome.history.map((m) => m.id)).toEqual(Array.from({ length: 20 }, (_, i) => 44 + i));
    fresh.send({ type: "message", text: "next" });
    expect((await fresh.expect("message")).id).toBe(64);
  });
});

/** Polls storage until the room holds `count` messages (sends are async). */
async function waitForMessageCount(room: string, count: number): Promise<void> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const stored = await runInDurableObject(
      roomStub(room),
      (_, state) => state.storage.sql.exec<{ n: number }>("SELECT count(*) AS n FROM messages").one().n,
    );
    if (stored >= count) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`room never reached ${count} messages`);
}

describe("sessions", () => {
  it("let a reconnecting client take over its half-open socket, silently for the others", async () => {
    const { room, alice, bob, bobWelcome } = await aliceAndBob();

    // Bob's network drops without a close; his client reconnects with its session.
    const [bob2, again] = await TestSocket.join(room, "ignored", { session: bobWelcome.session });
    expect(again.you).toEqual(bobWelcome.you);
    expect(again.session).toBe(bobWelcome.session);
    expect(again.users.filter((u) => u.id === bobWelcome.you.id)).toHaveLength(1);
    expect(await bob.closeEvent()).toEqual({ code: CLOSE_SESSION_TAKEN_OVER, reason: "session taken over" });
    await alice.expectSilence(); // no left, no joined

    alice.send({ type: "message", text: "still there, Bob?" });
    expect((await bob2.expect("message")).text).toBe("still there, Bob?");
    bob2.send({ type: "message", text: "yes" });
    expect((await alice.expect("message")).text).toBe("still there, Bob?");
    expect((await alice.expect("message")).from).toEqual(bobWelcome.you);
  });

  it("outlive their socket: the identity comes back, announced like any arrival", async () => {
    const { room, alice, bob, bobWelcome } = await aliceAndBob();
    bob.send({ type: "nick", nick: "Robert" });
    await alice.expect("renamed");
    bob.close();
    await alice.expect("left");

    const [, back] = await TestSocket.join(room, "whatever", { session: bobWelcome.session });
    expect(back.you).toEqual({ id: bobWelcome.you.id, nick: "Robert" });
    expect(await alice.expect("joined")).toEqual({ type: "joined", user: back.you });
  });

  it("give nick_taken when someone else took the nick meanwhile", async () => {
    const room = freshRoom();
    const [bob, bobWelcome] = await TestSocket.join(room, "Bob");
    bob.close();
    await bob.closeEvent();
    await TestSocket.join(room, "bob");
    const socket = await TestSocket.open(room);
    socket.send({ type: "join", nick: "Bob", session: bobWelcome.session });
    expect((await socket.expect("error")).code).toBe("nick_taken");
    // The same socket can still join as someone new.
    const welcome = await socket.joinAs("Bob the second");
    expect(welcome.you.id).not.toBe(bobWelcome.you.id);
  });

  it("treat an unknown or expired token as a new identity, not an error", async () => {
    const room = freshRoom();
    const [, unknown] = await TestSocket.join(room, "Newcomer", { session: "not-a-real-token" });
    expect(unknown.you.nick).toBe("Newcomer");
    expect(unknown.session).not.toBe("not-a-real-token");

    const [old, oldWelcome] = await TestSocket.join(room, "Old");
    old.close();
    await old.closeEvent();
    // Age the session past its 24 hours.
    await runInDurableObject(roomStub(room), (_, state) => {
      state.storage.sql.exec("UPDATE sessions SET last_used = last_used - ?", 25 * 3_600_000);
    });
    const [, expired] = await TestSocket.join(room, "Old", { session: oldWelcome.session });
    expect(expired.you.nick).toBe("Old");
    expect(expired.you.id).not.toBe(oldWelcome.you.id);
    expect(expired.session).not.toBe(oldWelcome.session);
  });

  it("are stored as hashes, never as the token itself", async () => {
    const room = freshRoom();
    const [, welcome] = await TestSocket.join(room, "Secretive");
    const stored = await runInDurableObject(roomStub(room), (_, state) =>
      state.storage.sql.exec<{ token_hash: string }>("SELECT token_hash FROM sessions").toArray(),
    );
    expect(stored).toHaveLength(1);
    expect(stored[0]!.token_hash).not.toContain(welcome.session);
  });
});

describe("hibernation and eviction", () => {
  it("keeps roster, nicks, sessions and ids when the object is evicted with sockets hibernated", async () => {
    const { room, alice, aliceWelcome, bob, bobWelcome } = await aliceAndBob();
    alice.send({ type: "message", text: "before" });
    await bob.expect("message");
    await alice.expect("message");

    await evictDurableObject(roomStub(room)); // sockets hibernate, memory is gone

    const [carol, carolWelcome] = await TestSocket.join(room, "Carol");
    expect(byId(carolWelcome.users)).toEqual(byId([aliceWelcome.you, bobWelcome.you, carolWelcome.you]));
    expect(texts(carolWelcome.history)).toEqual(["before"]);
    expect((await alice.expect("joined")).user.nick).toBe("Carol");
    expect((await bob.expect("joined")).user.nick).toBe("Carol");

    // The sockets opened before the eviction still speak, as the same people.
    bob.send({ type: "message", text: "after" });
    const after = await carol.expect("message");
    expect(after).toMatchObject({ id: 2, text: "after", from: bobWelcome.you });
    expect((await alice.expect("message")).text).toBe("after");

    // Nick uniqueness still knows the hibernated members.
    const dup = await TestSocket.open(room);
    dup.send({ type: "join", nick: "alice" });
    expect((await dup.expect("error")).code).toBe("nick_taken");

    // A take-over still finds the old socket after the eviction.
    await evictDurableObject(roomStub(room));
    const [, bobAgain] = await TestSocket.join(room, "Bob", { session: bobWelcome.session });
    expect(bobAgain.you).toEqual(bobWelcome.you);
    expect((await bob.closeEvent()).code).toBe(CLOSE_SESSION_TAKEN_OVER);
    await carol.expectSilence();

    // A leave after an eviction is still announced, once.
    await evictDurableObject(roomStub(room));
    alice.close();
    expect(await carol.expect("left")).toEqual({ type: "left", user: aliceWelcome.you });
    await carol.expectSilence();
  });
});

describe("eviction while busy", () => {
  /** Reads frames until `count` messages have arrived, then makes sure nothing more comes. */
  async function collect(socket: TestSocket, count: number) {
    const frames = [];
    while (frames.filter((f) => f.type === "message").length < count) frames.push(await socket.next(5000));
    await socket.expectSilence(300);
    return {
      texts: frames.flatMap((f) => (f.type === "message" ? [f.text] : [])),
      ids: frames.flatMap((f) => (f.type === "message" ? [f.id] : [])),
      notices: frames.filter((f) => f.type !== "message").map((f) => `${f.type} ${"user" in f ? f.user.nick : ""}`),
    };
  }

  it("loses nothing and announces nobody twice when evicted again and again mid-traffic and mid-join", async () => {
    const room = freshRoom();
    const stub = roomStub(room);
    const senders: TestSocket[] = [];
    for (const nick of ["A", "B", "C"]) senders.push((await TestSocket.join(room, nick))[0]);
    await senders[0]!.expect("joined");
    await senders[0]!.expect("joined");
    await senders[1]!.expect("joined");

    // Evictions at chosen points, not against the clock: after each round of
    // sends, while those frames are in flight (runInDurableObject first, so
    // that the object is certainly in memory to be evicted).
    let evictions = 0;
    const evict = async () => {
      await runInDurableObject(stub, () => {});
      await evictDurableObject(stub);
      evictions++;
    };

    // Three senders, 9 messages each (the burst allows 10 frames with the join),
    // not waiting for their echoes; an eviction after every round.
    const sending = (async () => {
      for (let i = 0; i < 9; i++) {
        for (const [n, socket] of senders.entries())
          socket.send({ type: "message", text: `${"ABC"[n]}${i}`, cid: `${n}-${i}` });
        await evict();
      }
    })();
    // D connects, the room is evicted with D's socket open but not joined, then D joins.
    const late = await TestSocket.open(room);
    await evict();
    const lateWelcome = late.joinAs("D");
    // E joins while an eviction is under way.
    const evictNow = evict();
    const [e, eWelcome] = await TestSocket.join(room, "E");
    await evictNow;
    await sending;
    const dWelcome = await lateWelcome;

    const results = await Promise.all(senders.map((socket) => collect(socket, 27)));
    expect(evictions).toBe(11);

    const expected = ["A", "B", "C"].flatMap((name) => Array.from({ length: 9 }, (_, i) => `${name}${i}`)).sort();
    for (const { texts, ids, notices } of results) {
      // Every message once, each sender's in its order, ids 1..27 without a gap.
      expect([...texts].sort()).toEqual(expected);
      for (const name of "ABC")
        expect(texts.filter((t) => t[0] === name)).toEqual(expected.filter((t) => t[0] === name));
      expect(ids).toEqual(Array.from({ length: 27 }, (_, i) => i + 1));
      // D and E joined once each; nobody left.
      expect(notices.sort()).toEqual(["joined D", "joined E"]);
    }
    // All three saw the same order.
    expect(results[1]!.texts).toEqual(results[0]!.texts);
    expect(results[2]!.texts).toEqual(results[0]!.texts);

    // The latecomers: history plus live messages give every message exactly once.
    for (const [socket, welcome] of [
      [late, dWelcome],
      [e, eWelcome],
    ] as const) {
      const seen = welcome.history.map((m) => m.id);
      const live = await collect(socket, 27 - seen.length);
      expect([...seen, ...live.ids]).toEqual(Array.from({ length: 27 }, (_, i) => i + 1));
    }
    // And the roster after all that is the five people, once each.
    const [reader, readerWelcome] = await TestSocket.join(room, "Reader");
    expect(readerWelcome.users.map((u) => u.nick).sort()).toEqual(["A", "B", "C", "D", "E", "Reader"]);
    expect(readerWelcome.history.map((m) => m.id)).toEqual(Array.from({ length: 20 }, (_, i) => i + 8)); // HISTORY_ON_JOIN = 20
    reader.close();
  });
});

describe("rate limiting", () => {
  it("drops frames beyond the burst with rate_limited (cid included), then refills", async () => {
    const room = freshRoom();
    const [alice] = await TestSocket.join(room, "Alice"); // the join took one token
    for (let i = 0; i < 15; i++) alice.send({ type: "message", text: `m${i}`, cid: `c${i}` });
    const results = await Promise.all(Array.from({ length: 15 }, () => alice.next()));
    const accepted = results.filter((f) => f.type === "message");
    const limited = results.filter((f) => f.type === "error");
    expect(accepted.length + limited.length).toBe(15);
    expect(accepted.length).toBeGreaterThanOrEqual(9);
    expect(accepted.length).toBeLessThanOrEqual(10);
    for (const error of limited) expect(error).toMatchObject({ code: "rate_limited" });
    // Dropped, not queued: the accepted ones are the first ones, in order.
    expect(accepted.map((m) => m.type === "message" && m.cid)).toEqual(accepted.map((_, i) => `c${i}`));
    expect(limited.map((e) => e.type === "error" && e.cid)).toEqual(limited.map((_, i) => `c${accepted.length + i}`));

    await new Promise((resolve) => setTimeout(resolve, 450)); // 5 per second: two tokens back
    alice.send({ type: "message", text: "later" });
    expect((await alice.expect("message")).text).toBe("later");
  });
});
