/**
 * The conversation features of issue 17, in the Workers runtime: replies
 * (a message's `replyTo`, quoted by the room and kept with the reply).
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
