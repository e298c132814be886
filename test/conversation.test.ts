/**
 * The conversation features of issue 17, in the Workers runtime: replies
 * (a message's `replyTo`, quoted by the room and kept with the reply),
 * edits, reactions, mentions and search.
 */
import { evictDurableObject } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { QUOTE_LENGTH } from "../src/shared/protocol";
import { ORIGIN, TestSocket, aliceAndBob, next } from "./socket";

describe("replies", () => {
  it("quote the start of the original, live and in every history", async () => {
    const { room, alice, aliceWelcome, bob, bobWelcome } = await aliceAndBob();
    const long = `${"word ".repeat(40)}\nsecond line`;
    alice.send({ type: "message", text: long });
    await bob.expect("message");
    await alice.expect("message");
    bob.send({ type: "message", text: "agreed", cid: "r1", replyTo: 1 });
    const quote = { id: 1, from: aliceWelcome.you, text: expect.any(String) };
    for (const socket of [alice, bob])
      expect(await socket.expect("message")).toEqual({
        type: "message",
        id: 2,
        ts: expect.any(Number),
        from: bobWelcome.you,
        text: "agreed",
        cid: "r1",
        replyTo: quote,
      });
    // One line, at most QUOTE_LENGTH characters, ending with an ellipsis when cut.
    const [reader, fresh] = await TestSocket.join(room, "Reader");
    const reply = fresh.history[1];
    expect(reply).toMatchObject({ id: 2, replyTo: quote });
    const text = reply?.type === "message" ? (reply.replyTo?.text ?? "") : "";
    expect([...text]).toHaveLength(QUOTE_LENGTH);
    expect(text).toMatch(/^word word .*…$/);
    expect(text).not.toContain("\n");
    reader.send({ type: "history", before: 3 });
    expect((await reader.expect("history")).messages[1]).toEqual(reply);
    const [, resumed] = await TestSocket.join(room, "Resumer", { since: 1 });
    expect(resumed.history).toEqual([reply]);
  });

  it("refuse a reply to nothing, to a deleted message, and a bad id, with the message's cid", async () => {
    const { alice, bob } = await aliceAndBob();
    alice.send({ type: "message", text: "soon gone" });
    await alice.expect("message");
    await bob.expect("message");
    alice.send({ type: "delete", id: 1 });
    await alice.expect("deleted");
    await bob.expect("deleted");
    for (const [replyTo, code] of [
      [1, "not_found"],
      [2, "not_found"], // the deletion's entry, not a message
      [99, "not_found"],
      [0, "bad_frame"],
      ["1", "bad_frame"],
    ] as const) {
      bob.send({ type: "message", text: "re", cid: `c${replyTo}`, replyTo });
      expect(await bob.expect("error"), String(replyTo)).toMatchObject({ code, cid: `c${replyTo}` });
    }
    await alice.expectSilence();
  });

  it("say 'deleted' once the original is deleted, and quote a file by its name", async () => {
    const { room, alice, aliceWelcome, bob } = await aliceAndBob();
    const upload = await exports.default.fetch(`${ORIGIN}/api/rooms/${room}/files?name=plan.txt`, {
      method: "POST",
      body: "the plan",
      headers: { Authorization: `Bearer ${aliceWelcome.session}`, "Content-Type": "text/plain" },
    });
    expect(upload.status).toBe(201);
    await bob.expect("message");
    await alice.expect("message");
    bob.send({ type: "message", text: "nice plan", replyTo: 1 });
    expect((await alice.expect("message")).replyTo).toEqual({ id: 1, from: aliceWelcome.you, text: "plan.txt" });
    await bob.expect("message");
    alice.send({ type: "delete", id: 1 });
    await bob.expect("deleted");
    const [, welcome] = await TestSocket.join(room, "Later");
    expect(welcome.history[1]).toMatchObject({
      id: 2,
      replyTo: { id: 1, from: aliceWelcome.you, text: "", deleted: true },
    });
  });

  it("answer messages the room no longer holds in memory (after an eviction)", async () => {
    const { room, alice, aliceWelcome } = await aliceAndBob();
    alice.send({ type: "message", text: "before the eviction" });
    alice.send({ type: "message", text: "deleted before the eviction" });
    await alice.expect("message");
    await alice.expect("message");
    alice.send({ type: "delete", id: 2 });
    await alice.expect("deleted");
    await evictDurableObject(env.ROOMS.getByName(room), { webSockets: "close" });
    const [carol] = await TestSocket.join(room, "Carol");
    carol.send({ type: "message", text: "still here?", replyTo: 1 });
    expect((await carol.expect("message")).replyTo).toEqual({
      id: 1,
      from: aliceWelcome.you,
      text: "before the eviction",
    });
    carol.send({ type: "message", text: "and this?", replyTo: 2 });
    expect(await carol.expect("error")).toMatchObject({ code: "not_found" });
  });
});

describe("edits", () => {
  it("change one's own message for everyone: the edited entry now, the new text in every history", async () => {
    const { room, alice, aliceWelcome, bob, bobWelcome } = await aliceAndBob();
    alice.send({ type: "message", text: "teh plan", cid: "p" });
    await next(alice, "message");
    await next(bob, "message");
    bob.send({ type: "message", text: "which plan?", replyTo: 1 });
    await next(alice, "message");
    await next(bob, "message");
    alice.send({ type: "edit", id: 1, text: "  the plan  " });
    for (const socket of [alice, bob])
      expect(await next(socket, "edited")).toEqual({
        type: "edited",
        id: 3,
        target: 1,
        text: "the plan",
        ts: expect.any(Number),
        by: aliceWelcome.you,
      });
    // Newcomers get the text as it is now, marked edited; replies quote it so.
    const [reader, fresh] = await TestSocket.join(room, "Reader");
    expect(fresh.history).toEqual([
      {
        type: "message",
        id: 1,
        ts: expect.any(Number),
        from: aliceWelcome.you,
        text: "the plan",
        cid: "p",
        edited: expect.any(Number),
      },
      expect.objectContaining({
        id: 2,
        from: bobWelcome.you,
        replyTo: { id: 1, from: aliceWelcome.you, text: "the plan" },
      }),
    ]);
    reader.send({ type: "history", before: 3 });
    expect((await next(reader, "history")).messages).toEqual(fresh.history);
    // A resumer gets the edit as an entry of the log.
    const [, resumed] = await TestSocket.join(room, "Resumer", { since: 2 });
    expect(resumed.history).toEqual([expect.objectContaining({ type: "edited", id: 3, target: 1, text: "the plan" })]);
    // Replies made after the edit quote the new text too (from memory, then after an eviction).
    bob.send({ type: "message", text: "ah", replyTo: 1 });
    expect((await next(bob, "message")).replyTo?.text).toBe("the plan");
    await evictDurableObject(env.ROOMS.getByName(room), { webSockets: "close" });
    const [carol, back] = await TestSocket.join(room, "Carol");
    expect(back.history[0]).toMatchObject({ text: "the plan", edited: expect.any(Number) });
    carol.send({ type: "message", text: "ok", replyTo: 1 });
    expect((await next(carol, "message")).replyTo?.text).toBe("the plan");
  });

  it("refuse someone else's message, a file, a deleted or unknown one, and bad text", async () => {
    const { room, alice, aliceWelcome, bob } = await aliceAndBob();
    alice.send({ type: "message", text: "mine" });
    await next(alice, "message");
    await next(bob, "message");
    const upload = await exports.default.fetch(`${ORIGIN}/api/rooms/${room}/files?name=a.txt`, {
      method: "POST",
      body: "file",
      headers: { Authorization: `Bearer ${aliceWelcome.session}`, "Content-Type": "text/plain" },
    });
    expect(upload.status).toBe(201);
    await next(alice, "message");
    await next(bob, "message");
    alice.send({ type: "message", text: "gone" });
    await next(alice, "message");
    await next(bob, "message");
    alice.send({ type: "delete", id: 3 });
    await next(alice, "deleted");
    await next(bob, "deleted");
    const refusal = async (frame: object) => {
      alice.send(frame);
      return next(alice, "error");
    };
    bob.send({ type: "edit", id: 1, text: "hijacked" });
    expect(await next(bob, "error")).toMatchObject({ code: "forbidden" });
    expect(await refusal({ type: "edit", id: 2, text: "x" })).toMatchObject({ code: "forbidden" });
    expect(await refusal({ type: "edit", id: 3, text: "x" })).toMatchObject({ code: "not_found" });
    expect(await refusal({ type: "edit", id: 99, text: "x" })).toMatchObject({ code: "not_found" });
    // Bad text, from someone with a budget of frames left (a burst is 10).
    const [dee] = await TestSocket.join(room, "Dee");
    dee.send({ type: "message", text: "dee's" });
    const own = (await next(dee, "message")).id;
    for (const [frame, code] of [
      [{ type: "edit", id: own, text: "   " }, "bad_frame"],
      [{ type: "edit", id: own, text: "x".repeat(4001) }, "too_long"],
      [{ type: "edit", id: own, text: "esc\u001b[31m" }, "bad_frame"],
      [{ type: "edit", id: String(own), text: "x" }, "bad_frame"],
    ] as const) {
      dee.send(frame);
      expect(await next(dee, "error"), JSON.stringify(frame)).toMatchObject({ code });
    }
    const [, welcome] = await TestSocket.join(room, "Reader");
    expect(welcome.history[0]).toEqual(expect.objectContaining({ id: 1, text: "mine" }));
    expect(welcome.history[0]).not.toHaveProperty("edited");
  });
});

describe("reactions", () => {
  it("add and take back one emoji, for everyone now, and in every history as who chose what", async () => {
    const { room, alice, aliceWelcome, bob, bobWelcome } = await aliceAndBob();
    alice.send({ type: "message", text: "lunch?" });
    await next(alice, "message");
    await next(bob, "message");
    bob.send({ type: "react", id: 1, emoji: "👍", on: true });
    const reacted = { type: "reacted", id: 2, target: 1, emoji: "👍", user: bobWelcome.you, on: true, count: 1 };
    for (const socket of [alice, bob])
      expect(await next(socket, "reacted")).toEqual({ ...reacted, ts: expect.any(Number) });
    // Again: nothing changes, so no entry (the next one is alice's).
    bob.send({ type: "react", id: 1, emoji: "👍", on: true });
    alice.send({ type: "react", id: 1, emoji: "👍", on: true });
    alice.send({ type: "react", id: 1, emoji: "❤", on: true }); // typed without its selector
    expect(await next(bob, "reacted")).toMatchObject({ id: 3, emoji: "👍", user: aliceWelcome.you });
    expect(await next(bob, "reacted")).toMatchObject({ id: 4, emoji: "❤️", user: aliceWelcome.you });
    alice.send({ type: "react", id: 1, emoji: "👍", on: false });
    expect(await next(bob, "reacted")).toMatchObject({ id: 5, emoji: "👍", on: false });
    bob.send({ type: "react", id: 1, emoji: "👍🏽", on: true });
    expect(await next(bob, "reacted")).toMatchObject({ id: 6, emoji: "👍🏽" });
    const now = { "👍": [bobWelcome.you.id], "❤️": [aliceWelcome.you.id], "👍🏽": [bobWelcome.you.id] };
    const [reader, fresh] = await TestSocket.join(room, "Reader");
    expect(fresh.history).toEqual([expect.objectContaining({ id: 1, text: "lunch?", reactions: now })]);
    expect(Object.keys((fresh.history[0] as { reactions: object }).reactions)).toEqual(["👍", "❤️", "👍🏽"]);
    reader.send({ type: "history", before: 2 });
    expect((await next(reader, "history")).messages).toEqual(fresh.history);
    // Someone away since message 1 gets each entry of the log, in order.
    const [, resumed] = await TestSocket.join(room, "Resumer", { since: 1 });
    expect(resumed.history.map((entry) => entry.type === "reacted" && [entry.emoji, entry.on])).toEqual([
      ["👍", true],
      ["👍", true],
      ["❤️", true],
      ["👍", false],
      ["👍🏽", true],
    ]);
    // All of it after an eviction; deleting the message takes its reactions.
    await evictDurableObject(env.ROOMS.getByName(room), { webSockets: "close" });
    const [carol, back] = await TestSocket.join(room, "Carol");
    expect(back.history[0]).toMatchObject({ reactions: now });
    carol.send({ type: "react", id: 1, emoji: "🎉", on: true });
    expect(await next(carol, "reacted")).toMatchObject({ id: 7, emoji: "🎉" });
    const [ana] = await TestSocket.join(room, "Alice", { session: aliceWelcome.session });
    ana.send({ type: "delete", id: 1 });
    await next(ana, "deleted");
    const [, after] = await TestSocket.join(room, "Later");
    expect(after.history[0]).toMatchObject({ id: 1, deleted: true });
    expect(after.history[0]).not.toHaveProperty("reactions");
  });

  it("refuse two emoji, text, a deleted or unknown message, and the 21st different emoji", async () => {
    const { room, alice, bob } = await aliceAndBob();
    alice.send({ type: "message", text: "react to me" });
    await next(alice, "message");
    await next(bob, "message");
    for (const [frame, code] of [
      [{ type: "react", id: 1, emoji: "👍👍", on: true }, "bad_frame"],
      [{ type: "react", id: 1, emoji: "👍🎉", on: true }, "bad_frame"],
      [{ type: "react", id: 1, emoji: "ok", on: true }, "bad_frame"],
      [{ type: "react", id: 1, emoji: "a", on: true }, "bad_frame"],
      [{ type: "react", id: 1, emoji: "", on: true }, "bad_frame"],
      [{ type: "react", id: 1, emoji: "👍", on: "yes" }, "bad_frame"],
      [{ type: "react", id: 1, emoji: "👍" }, "bad_frame"],
      [{ type: "react", id: 99, emoji: "👍", on: true }, "not_found"],
    ] as const) {
      bob.send(frame);
      expect(await next(bob, "error"), JSON.stringify(frame)).toMatchObject({ code });
    }
    // Twenty different emoji, from three people (a burst is 10 frames each).
    const emoji = [..."😀😁😂🤣😃😄😅😆😉😊😋😎😍😘🥰😗😙🥲🤩🙂🤗"];
    expect(emoji).toHaveLength(21);
    const people = await Promise.all(["P1", "P2", "P3"].map((nick) => TestSocket.join(room, nick)));
    for (let i = 0; i < 20; i++) {
      people[i % 3]![0].send({ type: "react", id: 1, emoji: emoji[i], on: true });
      expect(await next(alice, "reacted"), String(i)).toMatchObject({ target: 1, emoji: emoji[i] });
    }
    const [last] = people[2]!;
    for (let i = 0; i < 20; i++) await next(last, "reacted");
    last.send({ type: "react", id: 1, emoji: emoji[20], on: true });
    expect(await next(last, "error")).toMatchObject({ code: "too_many_reactions" });
    // One already there may still be added to.
    last.send({ type: "react", id: 1, emoji: emoji[0], on: true });
    expect(await next(last, "reacted")).toMatchObject({ emoji: emoji[0] });
    expect(await next(alice, "reacted")).toMatchObject({ emoji: emoji[0] });
    alice.send({ type: "delete", id: 1 });
    await next(alice, "deleted");
    alice.send({ type: "react", id: 1, emoji: "👍", on: true });
    expect(await next(alice, "error")).toMatchObject({ code: "not_found" });
  });
});

describe("reactions in a crowd", () => {
  it("name the first 10 per emoji with the count of all, say which are yours, and list the rest on request", async () => {
    const { room, alice, aliceWelcome, bob } = await aliceAndBob();
    alice.send({ type: "message", text: "vote!" });
    await next(alice, "message");
    await next(bob, "message");
    // Fourteen people give a 👍, one after another (a room of tests holds 8).
    const voters: string[] = [];
    const sessions: string[] = [];
    for (let i = 1; i <= 14; i++) {
      const [voter, welcome] = await TestSocket.join(room, `Voter ${i}`);
      voter.send({ type: "react", id: 1, emoji: "👍", on: true });
      expect(await next(voter, "reacted")).toMatchObject({ id: 1 + i, target: 1, count: i });
      voters.push(welcome.you.id);
      sessions.push(welcome.session);
      voter.close();
    }
    for (let i = 1; i <= 14; i++) for (const socket of [alice, bob]) await next(socket, "reacted");
    bob.send({ type: "react", id: 1, emoji: "🎉", on: true });
    expect(await next(bob, "reacted")).toMatchObject({ emoji: "🎉", count: 1 });
    await next(alice, "reacted");
    // Someone who gave none: the first ten and the count; none theirs.
    const [reader, fresh] = await TestSocket.join(room, "Reader");
    expect(fresh.history[0]).toMatchObject({
      reactions: { "👍": voters.slice(0, 10), "🎉": [expect.any(String)] },
      reactionCounts: { "👍": 14 },
      yourReactions: [],
    });
    reader.close();
    // Voter 12, not among the ten named, is told the 👍 is theirs.
    const [twelfth, back] = await TestSocket.join(room, "Voter 12", { session: sessions[11] });
    expect(back.history[0]).toMatchObject({ reactionCounts: { "👍": 14 }, yourReactions: ["👍"] });
    twelfth.close();
    alice.send({ type: "react", id: 1, emoji: "👍", on: true });
    expect(await next(alice, "reacted")).toMatchObject({ count: 15 });
    await next(bob, "reacted");
    alice.send({ type: "history", before: 100 });
    expect((await next(alice, "history")).messages[0]).toMatchObject({
      reactionCounts: { "👍": 15 },
      yourReactions: ["👍"],
    });
    // The whole list, a page at a time, first first, with each one's nickname then.
    bob.send({ type: "reactions", id: 1, emoji: "👍" });
    const all = await next(bob, "reactions");
    expect(all).toEqual({
      type: "reactions",
      id: 1,
      emoji: "👍",
      count: 15,
      offset: 0,
      users: [...voters.map((id, i) => ({ id, nick: `Voter ${i + 1}` })), { id: aliceWelcome.you.id, nick: "Alice" }],
      complete: true,
    });
    bob.send({ type: "reactions", id: 1, emoji: "👍", offset: 13 });
    expect(await next(bob, "reactions")).toMatchObject({
      offset: 13,
      users: [{ nick: "Voter 14" }, { nick: "Alice" }],
    });
    bob.send({ type: "reactions", id: 1, emoji: "👍", offset: 99 });
    expect(await next(bob, "reactions")).toMatchObject({ count: 15, users: [], complete: true });
    bob.send({ type: "reactions", id: 1, emoji: "😮" });
    expect(await next(bob, "reactions")).toMatchObject({ count: 0, users: [], complete: true });
    for (const [frame, code] of [
      [{ type: "reactions", id: 99, emoji: "👍" }, "not_found"],
      [{ type: "reactions", id: 1, emoji: "ok" }, "bad_frame"],
      [{ type: "reactions", id: 1, emoji: "👍", offset: -1 }, "bad_frame"],
      [{ type: "reactions", id: 0, emoji: "👍" }, "bad_frame"],
    ] as const) {
      bob.send(frame);
      expect(await next(bob, "error"), JSON.stringify(frame)).toMatchObject({ code });
    }
  });
});

describe("mentions", () => {
  it("stamp who a message names as @nick, among the people here, live, in histories and after an edit", async () => {
    const { room, alice, aliceWelcome, bob, bobWelcome } = await aliceAndBob();
    const [ana, anaWelcome] = await TestSocket.join(room, "Ana Maria");
    const [gone] = await TestSocket.join(room, "Gone");
    gone.close();
    await next(alice, "joined");
    await next(alice, "joined");
    await next(alice, "left");
    alice.send({ type: "message", text: "@bob, @ANA MARIA and @Gone: lunch? (not @Bobby, mail@alice.example)" });
    const message = await next(bob, "message");
    expect(message.mentions).toEqual([bobWelcome.you.id, anaWelcome.you.id]);
    expect((await next(ana, "message")).mentions).toEqual(message.mentions);
    alice.send({ type: "message", text: "nobody named here" });
    expect(await next(bob, "message")).not.toHaveProperty("mentions");
    alice.send({ type: "edit", id: message.id, text: "only @Alice now" });
    expect(await next(bob, "edited")).toMatchObject({ mentions: [aliceWelcome.you.id] });
    const [, resumed] = await TestSocket.join(room, "Resumer", { since: message.id });
    expect(resumed.history.find((entry) => entry.type === "edited")).toMatchObject({ mentions: [aliceWelcome.you.id] });
    await evictDurableObject(env.ROOMS.getByName(room), { webSockets: "close" });
    const [, welcome] = await TestSocket.join(room, "Reader");
    expect(welcome.history[0]).toMatchObject({ text: "only @Alice now", mentions: [aliceWelcome.you.id] });
    expect(welcome.history[1]).not.toHaveProperty("mentions");
  });
});

describe("search", () => {
  it("finds words by their start, without case or accents, newest first, a page at a time", async () => {
    const { room, alice } = await aliceAndBob();
    const said = [
      "Le café est fermé", // 1
      "CAFETERIA at noon", // 2
      "nothing to see", // 3
      "a typo in this: cofee", // 4
      "gone café", // 5
    ];
    for (const text of said) {
      alice.send({ type: "message", text });
      await next(alice, "message");
    }
    alice.send({ type: "edit", id: 4, text: "a typo in this: coffee, fixed: café" });
    await next(alice, "edited");
    alice.send({ type: "delete", id: 5 });
    await next(alice, "deleted");
    const [seeker] = await TestSocket.join(room, "Seeker");
    const search = async (query: string, before?: number) => {
      seeker.send(before === undefined ? { type: "search", query } : { type: "search", query, before });
      return next(seeker, "results");
    };
    const ids = (frame: { messages: { id: number }[] }) => frame.messages.map((m) => m.id);
    expect(ids(await search("cafe"))).toEqual([4, 2, 1]);
    expect(ids(await search("Café"))).toEqual([4, 2, 1]);
    expect(ids(await search("caf fer"))).toEqual([1]);
    expect(ids(await search("cofee"))).toEqual([]); // the old text of an edited message
    expect(ids(await search("gone"))).toEqual([]); // deleted
    const page = await search("CAFE", 4);
    expect(page).toEqual({
      type: "results",
      query: "CAFE",
      before: 4,
      messages: [expect.objectContaining({ id: 2 }), expect.objectContaining({ id: 1 })],
      complete: true,
    });
    expect((await search("!!! ???")).messages).toEqual([]);
    // Still there after an eviction, and for what is said after it.
    await evictDurableObject(env.ROOMS.getByName(room), { webSockets: "close" });
    const [carol] = await TestSocket.join(room, "Carol");
    carol.send({ type: "message", text: "Cafés everywhere" });
    await next(carol, "message");
    carol.send({ type: "search", query: "cafe" });
    const after = await next(carol, "results");
    expect(ids(after)).toEqual([8, 4, 2, 1]);
    expect(after.messages[1]).toMatchObject({
      text: "a typo in this: coffee, fixed: café",
      edited: expect.any(Number),
    });
  });

  it("answers a page at a time, and refuses what is not a search", async () => {
    const { room } = await aliceAndBob();
    const people = await Promise.all(["S1", "S2", "S3"].map((nick) => TestSocket.join(room, nick)));
    for (let i = 0; i < 25; i++) {
      const [socket] = people[i % 3]!;
      socket.send({ type: "message", text: `needle ${i}` });
      await next(socket, "message");
    }
    const [seeker] = await TestSocket.join(room, "Seeker");
    seeker.send({ type: "search", query: "needle" });
    const first = await next(seeker, "results");
    expect(first.messages).toHaveLength(20);
    expect(first).not.toHaveProperty("complete");
    seeker.send({ type: "search", query: "needle", before: first.messages.at(-1)!.id });
    const second = await next(seeker, "results");
    expect(second.messages.map((m) => m.text)).toEqual(["needle 4", "needle 3", "needle 2", "needle 1", "needle 0"]);
    expect(second.complete).toBe(true);
    for (const [frame, code] of [
      [{ type: "search", query: "   " }, "bad_frame"],
      [{ type: "search", query: 7 }, "bad_frame"],
      [{ type: "search", query: "x".repeat(101) }, "too_long"],
      [{ type: "search", query: "a\nb" }, "bad_frame"],
      [{ type: "search", query: "ok", before: 0 }, "bad_frame"],
    ] as const) {
      seeker.send(frame);
      expect(await next(seeker, "error"), JSON.stringify(frame)).toMatchObject({ code });
    }
  });
});
