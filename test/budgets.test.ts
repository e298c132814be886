/**
 * The room's budgets for costly frames, whoever sends them (issue 25): the
 * reads it serves for one person (read-queue.ts) and the edits and members'
 * deletions it takes (limits.ts), whole-room budgets that hold however many
 * sockets and addresses send. A project of its own (vitest.config.ts) gives
 * these rooms budgets a test reaches quickly: 6 units of reads at once then
 * 3 a second, 4 edits at once then 2 a second.
 */
import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { ServerFrame } from "../src/shared/protocol";
import { ORIGIN, TestSocket, freshRoom } from "./socket";

describe("the room's budgets for costly frames, whoever sends them", () => {
  // What arrives when depends on the machine, so these check bounds that
  // hold however slow it is.

  it("takes so many edits and members' deletions a second, the room together; moderators' deletions always", async () => {
    const room = freshRoom();
    const { ownerKey } = await (
      await exports.default.fetch(`${ORIGIN}/api/rooms/${room}/claim`, { method: "POST" })
    ).json<{ ownerKey: string }>();
    const [olu] = await TestSocket.join(room, "Olu", { ownerKey });
    const people = await Promise.all(["Ana", "Bo"].map((nick) => TestSocket.join(room, nick)));
    const ids = new Map<TestSocket, number[]>();
    for (const [socket] of people) {
      for (let i = 0; i < 4; i++) socket.send({ type: "message", text: `line ${i}` });
      const own: number[] = [];
      while (own.length < 4) {
        const frame = await socket.next();
        if (frame.type === "message" && frame.from.nick === (socket === people[0]![0] ? "Ana" : "Bo"))
          own.push(frame.id);
      }
      ids.set(socket, own);
    }
    // Ana edits her four, Bo deletes three of his: 7 at once, for a budget of 4
    // (each within its socket's own burst of 10 frames).
    const started = Date.now();
    for (const id of ids.get(people[0]![0])!) people[0]![0].send({ type: "edit", id, text: "again" });
    for (const id of ids.get(people[1]![0])!.slice(0, 3)) people[1]![0].send({ type: "delete", id });
    const answers: ServerFrame[] = [];
    for (const [socket, count, type] of [
      [people[0]![0], 4, "edited"],
      [people[1]![0], 3, "deleted"],
    ] as const) {
      let got = 0;
      while (got < count) {
        const frame = await socket.next(5000);
        if (frame.type === "error" || (frame.type === type && frame.by.nick === (type === "edited" ? "Ana" : "Bo"))) {
          answers.push(frame);
          got++;
        }
      }
    }
    const seconds = (Date.now() - started) / 1000;
    const accepted = answers.filter((frame) => frame.type !== "error").length;
    const refused = answers.filter((frame) => frame.type === "error");
    expect(accepted).toBeGreaterThanOrEqual(4);
    expect(accepted).toBeLessThanOrEqual(4 + Math.ceil(seconds * 2));
    for (const frame of refused)
      expect(frame).toMatchObject({ code: "rate_limited", message: expect.stringMatching(/try again in \d+ s/) });
    // The owner deletes Bo's last and Ana's four at once: none held back.
    const targets = [ids.get(people[1]![0])![3]!, ...ids.get(people[0]![0])!];
    for (const id of targets) olu.send({ type: "delete", id });
    const deletions: number[] = [];
    while (deletions.length < targets.length) {
      const frame = await olu.next(5000);
      expect(frame.type, JSON.stringify(frame)).not.toBe("error");
      if (frame.type === "deleted" && frame.by.nick === "Olu") deletions.push(frame.target);
    }
    expect(deletions).toEqual(targets);
  });

  it("answers a script's searches in their turn and within the room's budget, and keeps the chat going", async () => {
    const room = freshRoom();
    const [ana] = await TestSocket.join(room, "Ana");
    const [bo] = await TestSocket.join(room, "Bo");
    const [script] = await TestSocket.join(room, "Script");
    await ana.expect("joined");
    await ana.expect("joined");
    await bo.expect("joined");
    ana.send({ type: "message", text: "findable words" });
    await ana.expect("message");
    await bo.expect("message");
    await script.expect("message");
    const started = Date.now();
    for (let i = 0; i < 8; i++) script.send({ type: "search", query: `findable ${i}` });
    // Bo's message goes out to everyone while the searches wait.
    bo.send({ type: "message", text: "still talking" });
    expect(await ana.expect("message", 5000)).toMatchObject({ text: "still talking" });
    let results = 0;
    let refused = 0;
    const order: string[] = [];
    while (results + refused < 8) {
      const frame = await script.next(5000);
      if (frame.type === "results") {
        results++;
        order.push(frame.query);
      } else if (frame.type === "error") {
        expect(frame).toMatchObject({ code: "rate_limited", message: expect.stringMatching(/waiting their turn/) });
        refused++;
      }
    }
    const seconds = (Date.now() - started) / 1000;
    // Two may wait at once, so the first two are always answered; answers
    // come in the order they were asked, and no faster than the budget.
    expect(order.slice(0, 2)).toEqual(["findable 0", "findable 1"]);
    expect(order).toEqual([...order].sort((a, b) => Number(a.split(" ")[1]) - Number(b.split(" ")[1])));
    expect(results).toBeLessThanOrEqual(6 + Math.ceil(seconds * 3));
  });
});

describe("a welcome's history, from the same budget", () => {
  it("is cut to what the budget holds, never under 16 KiB, and the newcomer scrolls back for the rest", async () => {
    const room = freshRoom();
    const [ana] = await TestSocket.join(room, "Ana");
    // Nine messages of about 4 KiB (HISTORY_MAX_BYTES is 64 KiB in the tests).
    for (let i = 0; i < 9; i++) ana.send({ type: "message", text: `${i} ${"x".repeat(3990)}` });
    for (let i = 0; i < 9; i++) await ana.expect("message");
    const started = Date.now();
    const counts: number[] = [];
    for (let i = 0; i < 8; i++) {
      const [reader, welcome] = await TestSocket.join(room, `Reader ${i}`);
      counts.push(welcome.history.length);
      reader.close();
    }
    const seconds = (Date.now() - started) / 1000;
    // The first gets everything; none gets less than the floor (16 KiB: 3 of these).
    expect(counts[0]).toBe(9);
    for (const count of counts) expect(count).toBeGreaterThanOrEqual(3);
    // Eight welcomes of 36 KiB cost 16 units, and the budget gives 6 and 3 a second.
    if (seconds < 2) expect(Math.min(...counts)).toBeLessThan(9);
    // What a welcome left out is a page away (which waits for the budget to come back).
    const [late, welcome] = await TestSocket.join(room, "Late");
    const oldest = welcome.history[0]?.id ?? 10;
    if (oldest > 1) {
      late.send({ type: "history", before: oldest });
      const page = await late.expect("history", 10_000);
      expect(page.messages.at(-1)?.id).toBe(oldest - 1);
    }
  });
});
