/**
 * Deleted means gone (issue 25): after a deletion, no frame the room sends
 * carries any version of the message's text, and its SQLite database keeps
 * no copy of any: not the rows, not the log's edits, not the quotes of the
 * replies, not the search index (its pages included), not a file's name.
 *
 * The words below start with letters no other word here starts with, so
 * that the search index's pages, which share the start of neighbouring
 * words, hold each of them whole.
 */
import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { EditedFrame, LogEntry } from "../src/shared/protocol";
import { ORIGIN, TestSocket, databaseText, freshRoom, next } from "./socket";

/** A room with its owner Olu, Ana and Bob, each past the others' joins. */
async function room() {
  const name = freshRoom("deleted");
  const { ownerKey } = await (
    await exports.default.fetch(`${ORIGIN}/api/rooms/${name}/claim`, { method: "POST" })
  ).json<{ ownerKey: string }>();
  const [olu] = await TestSocket.join(name, "Olu", { ownerKey });
  const [ana, anaWelcome] = await TestSocket.join(name, "Ana");
  const [bob, bobWelcome] = await TestSocket.join(name, "Bob");
  return { name, olu, ana, anaWelcome, bob, bobWelcome };
}

/** Every version of the message the tests delete, and the words of each. */
const VERSIONS = ["xylophone quartz", "yodelling zephyr", "kumquat jubilee"];
const WORDS = VERSIONS.flatMap((text) => text.split(" "));

const mentionsNone = (text: string) => WORDS.filter((word) => text.includes(word));

describe("a deleted message's text", () => {
  it("is served by nothing: welcome, resume, pages, search, replies, the moderation log", async () => {
    const { name, olu, ana, anaWelcome, bob } = await room();
    const everyone = [olu, ana, bob];
    ana.send({ type: "message", text: VERSIONS[0] });
    for (const socket of everyone) await next(socket, "message");
    bob.send({ type: "message", text: "a reply", replyTo: 1 });
    for (const socket of everyone) await next(socket, "message");
    for (const text of VERSIONS.slice(1)) {
      ana.send({ type: "edit", id: 1, text });
      for (const socket of everyone) await next(socket, "edited");
    }
    olu.send({ type: "react", id: 1, emoji: "👍", on: true });
    for (const socket of everyone) await next(socket, "reacted");
    // Before: a stranger from the start gets the text, and the edit entries carry it.
    const [, before] = await TestSocket.join(name, "Before", { since: 0 });
    expect(mentionsNone(JSON.stringify(before))).not.toEqual([]);

    olu.send({ type: "delete", id: 1 }); // the owner, someone else's message
    for (const socket of everyone) await next(socket, "deleted");

    const seen: string[] = [];
    // A stranger from the start, with no session: the edits are tombstones now.
    const [stranger, fromStart] = await TestSocket.join(name, "Stranger", { since: 0 });
    seen.push(JSON.stringify(fromStart));
    const edits = fromStart.history.filter((entry): entry is EditedFrame => entry.type === "edited");
    expect(edits).toEqual(
      [3, 4].map((id) => ({
        type: "edited",
        id,
        target: 1,
        text: "",
        ts: expect.any(Number),
        by: { id: anaWelcome.you.id, nick: "Ana" },
        deleted: true,
      })),
    );
    const byId = (history: LogEntry[], id: number) => history.find((entry) => entry.id === id);
    expect(byId(fromStart.history, 1)).toEqual({
      type: "message",
      id: 1,
      ts: expect.any(Number),
      from: { id: anaWelcome.you.id, nick: "Ana" },
      text: "",
      deleted: true,
    });
    expect(byId(fromStart.history, 2)).toMatchObject({ replyTo: { id: 1, text: "", deleted: true } });
    // Ana herself, resuming; a newcomer; scroll-back; search, for each word.
    const [, resumed] = await TestSocket.join(name, "Ana", { session: anaWelcome.session, since: 1 });
    seen.push(JSON.stringify(resumed));
    const [, fresh] = await TestSocket.join(name, "Fresh");
    seen.push(JSON.stringify(fresh));
    stranger.send({ type: "history", before: 100 });
    seen.push(JSON.stringify(await next(stranger, "history")));
    for (const word of WORDS) {
      stranger.send({ type: "search", query: word });
      const results = await next(stranger, "results");
      expect(results.messages, word).toEqual([]);
      seen.push(JSON.stringify(results.messages));
    }
    olu.send({ type: "modlog" });
    seen.push(JSON.stringify(await next(olu, "modlog")));
    for (const frame of seen) expect(mentionsNone(frame)).toEqual([]);
  });

  it("is kept by nothing in SQLite: rows, edits, quotes, reactions, the search index's pages", async () => {
    const { name, olu, ana, bob } = await room();
    const everyone = [olu, ana, bob];
    ana.send({ type: "message", text: VERSIONS[0] });
    for (const socket of everyone) await next(socket, "message");
    ana.send({ type: "message", text: "an untouched line" });
    bob.send({ type: "message", text: "a reply", replyTo: 1 });
    for (const socket of everyone) {
      await next(socket, "message");
      await next(socket, "message");
    }
    for (const text of VERSIONS.slice(1)) {
      ana.send({ type: "edit", id: 1, text });
      for (const socket of everyone) await next(socket, "edited");
    }
    // What can fail: the words are there, the newest version's and (in the
    // search index's pages, where FTS5 leaves deleted words until segments
    // merge) more.
    expect(mentionsNone(await databaseText(name))).toEqual(expect.arrayContaining(VERSIONS[2]!.split(" ")));
    ana.send({ type: "delete", id: 1 });
    for (const socket of everyone) await next(socket, "deleted");
    const stored = await databaseText(name);
    expect(mentionsNone(stored)).toEqual([]);
    // The rest is all there.
    expect(stored).toContain("untouched");
  });

  it("and an edited message keeps one version: older edits are served with the text as it is now", async () => {
    const { name, ana, bob, anaWelcome } = await room();
    ana.send({ type: "message", text: VERSIONS[0] });
    await next(ana, "message");
    for (const text of VERSIONS.slice(1)) {
      ana.send({ type: "edit", id: 1, text, ...{} });
      await next(ana, "edited");
    }
    const [, resumed] = await TestSocket.join(name, "Resumer", { since: 1 });
    expect(resumed.history).toEqual(
      [2, 3].map((id) => ({
        type: "edited",
        id,
        target: 1,
        text: VERSIONS[2],
        ts: expect.any(Number),
        by: { id: anaWelcome.you.id, nick: "Ana" },
      })),
    );
    expect(mentionsNone(await databaseText(name))).toEqual(VERSIONS[2]!.split(" "));
    bob.close();
  });

  it("of a file's message takes the file's name with it", async () => {
    const { name, ana, anaWelcome, bob } = await room();
    const upload = await exports.default.fetch(`${ORIGIN}/api/rooms/${name}/files?name=quinoa-vortex.txt`, {
      method: "POST",
      body: "the plan",
      headers: { Authorization: `Bearer ${anaWelcome.session}`, "Content-Type": "text/plain" },
    });
    expect(upload.status).toBe(201);
    await next(ana, "message");
    await next(bob, "message");
    expect(await databaseText(name)).toContain("quinoa-vortex");
    ana.send({ type: "delete", id: 1 });
    await next(ana, "deleted");
    expect(await databaseText(name)).not.toContain("quinoa");
  });
});
