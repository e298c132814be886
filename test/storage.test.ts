/**
 * RoomStorage against a Durable Object's real SQLite database, reached with
 * runInDurableObject. Each test uses an object of its own.
 */
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { LogEntry, SendFrame } from "../src/shared/protocol";
import { RoomStorage, WriteFailed, SCHEMA_VERSION, UPLOAD_TIMEOUT_MS, hashSecret } from "../src/worker/storage";
import { freshRoom } from "./socket";

const inFreshRoom = <R>(callback: (storage: DurableObjectStorage) => R | Promise<R>): Promise<R> =>
  runInDurableObject(env.ROOMS.getByName(freshRoom("storage")), (_, state) => callback(state.storage));

const alice = { id: "alice-id", nick: "Alice" };
const say = (text: string, cid?: string): SendFrame =>
  cid === undefined ? { type: "message", text } : { type: "message", text, cid };

describe("schema migrations", () => {
  it("run once: opening the storage again changes nothing and keeps the data", async () => {
    await inFreshRoom((storage) => {
      const first = new RoomStorage(storage, 100);
      first.appendMessage(alice, say("kept"), 1);
      first.write();
      const again = new RoomStorage(storage, 100);
      const versions = storage.sql
        .exec<{ version: number }>("SELECT version FROM schema_migrations ORDER BY version")
        .toArray();
      expect(versions.map((v) => v.version)).toEqual(Array.from({ length: SCHEMA_VERSION }, (_, i) => i + 1));
      expect(again.recentMessages(10).map((m) => m.text)).toEqual(["kept"]);
    });
  });
});

describe("schema migrations from an older database", () => {
  it("bring a version-1 database up to date and keep its messages", async () => {
    await inFreshRoom((storage) => {
      // A database at the current version, put back to the schema as
      // version 1 shipped it, with a message.
      new RoomStorage(storage, 100);
      for (const table of [
        "messages",
        "sessions",
        "meta",
        "files",
        "roles",
        "bans",
        "modlog",
        "events",
        "reactions",
        "reaction_counts",
        "search",
        "schema_migrations",
      ])
        storage.sql.exec(`DROP TABLE ${table}`);
      storage.sql.exec("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)");
      storage.sql.exec("INSERT INTO schema_migrations VALUES (1, 0)");
      storage.sql.exec(
        "CREATE TABLE messages (id INTEGER PRIMARY KEY, ts INTEGER NOT NULL, user_id TEXT NOT NULL, nick TEXT NOT NULL, text TEXT NOT NULL, cid TEXT)",
      );
      storage.sql.exec(
        "CREATE TABLE sessions (token_hash TEXT PRIMARY KEY, user_id TEXT NOT NULL, nick TEXT NOT NULL, last_used INTEGER NOT NULL)",
      );
      storage.sql.exec("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)");
      storage.sql.exec("INSERT INTO messages VALUES (7, 1, 'alice-id', 'Alice', 'from v1', NULL)");
      const store = new RoomStorage(storage, 100);
      expect(store.recentMessages(10)).toEqual([{ type: "message", id: 7, ts: 1, from: alice, text: "from v1" }]);
      expect(store.appendMessage(alice, { type: "message", text: "waves", action: true }, 2)).toMatchObject({
        id: 8,
        action: true,
      });
      store.write();
      expect(store.recentMessages(10).map((m) => m.action)).toEqual([undefined, true]);
      // The search index holds what was there before it.
      expect(store.search("V1", 100, 10).messages.map((m) => m.id)).toEqual([7]);
    });
  });
});

describe("migrations 13 and 14: deleted means gone, reactions counted", () => {
  it("takes the text of deleted messages' edits, keeps one version of the rest, and indexes live words anew", async () => {
    await inFreshRoom((storage) => {
      new RoomStorage(storage, 100);
      const sql = storage.sql;
      // Back to version 12: its search index (kept by triggers), and what
      // version 12 stored: a deleted message's edit with its text, and two
      // edits of a live message each with theirs.
      sql.exec(`DROP TABLE search; DROP INDEX events_edits; DELETE FROM schema_migrations WHERE version >= 13;
        DROP TABLE reaction_counts; DROP INDEX reactions_in_order; DROP INDEX reactions_by_user;
        ALTER TABLE reactions DROP COLUMN nick; ALTER TABLE events DROP COLUMN count;`);
      sql.exec(`CREATE VIRTUAL TABLE messages_fts USING fts5(
          text, content='messages', content_rowid='id', tokenize='unicode61 remove_diacritics 2');
        CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN
          INSERT INTO messages_fts (rowid, text) VALUES (new.id, new.text); END;
        CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN
          INSERT INTO messages_fts (messages_fts, rowid, text) VALUES ('delete', old.id, old.text); END;
        CREATE TRIGGER messages_fts_update AFTER UPDATE OF text ON messages BEGIN
          INSERT INTO messages_fts (messages_fts, rowid, text) VALUES ('delete', old.id, old.text);
          INSERT INTO messages_fts (rowid, text) VALUES (new.id, new.text); END;`);
      sql.exec(
        `INSERT INTO messages (id, ts, user_id, nick, text, edited) VALUES (1, 1, 'alice-id', 'Alice', 'ancient walrus', 5)`,
      );
      sql.exec(
        `INSERT INTO messages (id, ts, user_id, nick, text, deleted, mentions) VALUES (2, 2, 'alice-id', 'Alice', '', 1, 'bob-id')`,
      );
      sql.exec(`INSERT INTO events (id, ts, kind, target, by_id, by_nick, text) VALUES
          (3, 3, 'edited', 2, 'alice-id', 'Alice', 'doomed yak'),
          (4, 4, 'edited', 1, 'alice-id', 'Alice', 'older walrus'),
          (5, 5, 'edited', 1, 'alice-id', 'Alice', 'ancient walrus'),
          (6, 6, 'deleted', 2, 'alice-id', 'Alice', NULL)`);
      const store = new RoomStorage(storage, 100);
      const edits = store.entriesAfter(2, 100).entries;
      expect(
        edits.map((entry) => [entry.id, entry.type === "edited" ? [entry.text, entry.deleted] : entry.type]),
      ).toEqual([
        [3, ["", true]],
        [4, ["ancient walrus", undefined]],
        [5, ["ancient walrus", undefined]],
        [6, "deleted"],
      ]);
      expect(store.search("walrus", 100, 10).messages.map((m) => m.id)).toEqual([1]);
      const everything = JSON.stringify(
        sql
          .exec(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '\\_cf%' ESCAPE '\\' AND sql NOT LIKE 'CREATE VIRTUAL%'",
          )
          .toArray()
          .map(({ name }) => sql.exec(`SELECT * FROM "${String(name)}"`).toArray()),
      );
      expect(everything).not.toContain("yak");
      expect(everything).not.toContain("older");
      expect(everything).not.toContain("bob-id");
    });
  });
});

describe("reactions in a crowd", () => {
  it("keep a message a few KiB whatever the crowd, with exact counts, yours, and every name a page at a time", async () => {
    await inFreshRoom((storage) => {
      const store = new RoomStorage(storage, 100_000);
      store.appendMessage(alice, say("the vote"), 1);
      store.write();
      // 5,000 people give a 👍, then 200 give each of 19 more, and a few take theirs back.
      const emoji = [..."👍😀😁😂🤣😃😄😅😆😉😊😋😎😍😘🥰😗😙🥲🤩"];
      const user = (i: number) => ({ id: `u${String(i).padStart(15, "0")}`, nick: `Person ${i}` });
      const counts = new Map<string, number>();
      const give = (i: number, e: string, on = true) => {
        const state = store.reactionState(1, e, user(i).id);
        if (state.mine === on) return;
        const count = state.count + (on ? 1 : -1);
        store.appendReaction(1, user(i), e, on, 2, count);
        store.write();
        counts.set(e, count);
      };
      for (let i = 0; i < 5000; i++) give(i, "👍");
      for (const e of emoji.slice(1)) for (let i = 0; i < 200; i++) give(i, e);
      for (const i of [0, 3, 4999]) give(i, "👍", false);
      const [message] = store.recentMessages(1, user(4000).id);
      expect(message?.reactionCounts).toEqual(Object.fromEntries(emoji.map((e) => [e, counts.get(e)])));
      expect(message?.reactionCounts?.["👍"]).toBe(4997);
      expect(Object.keys(message?.reactions ?? {})).toEqual(emoji);
      expect(message?.reactions?.["👍"]).toEqual([1, 2, 4, 5, 6, 7, 8, 9, 10, 11].map((i) => user(i).id));
      expect(message?.yourReactions).toEqual(["👍"]);
      expect(store.recentMessages(1, user(7).id)[0]?.yourReactions).toEqual(emoji);
      // A few KiB: 20 emoji of 10 names each and their counts.
      expect(new TextEncoder().encode(JSON.stringify(message)).length).toBeLessThan(6 * 1024);
      // The whole list of 👍, first first, a page at a time.
      const page = store.reactors(1, "👍", 4900, 100);
      expect(page.count).toBe(4997);
      expect(page.users.map((u) => u.nick)).toEqual(Array.from({ length: 97 }, (_, k) => `Person ${4902 + k}`));
    });
  });
});

describe("messages", () => {
  it("get gapless ids that continue across a restart (a new RoomStorage)", async () => {
    await inFreshRoom((storage) => {
      const store = new RoomStorage(storage, 100);
      const first = store.appendMessage(alice, say("one", "c1"), 1000);
      expect(first).toEqual({ type: "message", id: 1, ts: 1000, from: alice, text: "one", cid: "c1" });
      store.appendMessage(alice, say("two"), 1001);
      // Held until written: a restart before write() would not see them.
      expect(new RoomStorage(storage, 100).recentMessages(10)).toEqual([]);
      store.write();
      const restarted = new RoomStorage(storage, 100);
      expect(restarted.appendMessage(alice, say("three"), 1002).id).toBe(3);
      restarted.write();
      expect(restarted.recentMessages(10)).toEqual([
        first,
        { type: "message", id: 2, ts: 1001, from: alice, text: "two" },
        { type: "message", id: 3, ts: 1002, from: alice, text: "three" },
      ]);
    });
  });

  it("keep only the newest `retention` rows, and resumes admit what retention deleted", async () => {
    await inFreshRoom((storage) => {
      const store = new RoomStorage(storage, 5);
      for (let i = 1; i <= 12; i++) store.appendMessage(alice, say(`m${i}`), i);
      store.write();
      const ids = (history: { entries: { id: number }[] }) => history.entries.map((m) => m.id);
      expect(store.recentMessages(100).map((m) => m.id)).toEqual([8, 9, 10, 11, 12]);
      // The search index keeps only what the room keeps.
      expect(storage.sql.exec<{ id: number }>("SELECT rowid AS id FROM search ORDER BY rowid").toArray()).toEqual(
        [8, 9, 10, 11, 12].map((id) => ({ id })),
      );
      expect(store.recentMessages(2).map((m) => m.id)).toEqual([11, 12]);
      expect(store.recentMessages(0)).toEqual([]);

      const afterDeleted = store.entriesAfter(3, 100); // 4..7 are gone
      expect(ids(afterDeleted)).toEqual([8, 9, 10, 11, 12]);
      expect(afterDeleted.truncated).toBe(true);
      const justKept = store.entriesAfter(7, 100);
      expect(ids(justKept)).toEqual([8, 9, 10, 11, 12]);
      expect(justKept.truncated).toBe(false);
      const overLimit = store.entriesAfter(8, 2);
      expect(ids(overLimit)).toEqual([11, 12]);
      expect(overLimit.truncated).toBe(true);
      expect(store.entriesAfter(12, 100)).toEqual({ entries: [], truncated: false });
      expect(store.entriesAfter(99, 100)).toEqual({ entries: [], truncated: false });
    });
  });
});

describe("quotes for replies", () => {
  it("come from memory or SQLite, and never for a message deleted or cleared, even before the write", async () => {
    await inFreshRoom((storage) => {
      const store = new RoomStorage(storage, 100);
      store.appendMessage(alice, say("first"), 1);
      store.appendMessage(alice, say("second"), 2);
      expect(store.quote(2)).toEqual({ id: 2, from: alice, text: "second" }); // held, not yet written
      store.write();
      store.appendDeletion(1, alice, 3);
      expect(store.quote(1)).toBeNull(); // the deletion counts before its write
      store.write();
      // A new RoomStorage has no memory: SQLite answers.
      const again = new RoomStorage(storage, 100);
      expect(again.quote(2)).toEqual({ id: 2, from: alice, text: "second" });
      expect(again.quote(1)).toBeNull();
      again.appendClear(alice, 4);
      expect(again.quote(2)).toBeNull();
      again.write();
      expect(new RoomStorage(storage, 100).quote(2)).toBeNull();
    });
  });
});

describe("the log: deletions and clears", () => {
  it("interleave with messages by id; a resume is cut by its limit, and whole from a clear", async () => {
    await inFreshRoom((storage) => {
      const store = new RoomStorage(storage, 100);
      for (let i = 1; i <= 3; i++) store.appendMessage(alice, say(`m${i}`), i);
      store.appendDeletion(2, alice, 4);
      store.appendMessage(alice, say("m5"), 5);
      store.write();
      const kinds = (entries: LogEntry[]) => entries.map((entry) => `${entry.type}:${entry.id}`);
      expect(kinds(store.entriesAfter(0, 100).entries)).toEqual([
        "message:1",
        "message:2",
        "message:3",
        "deleted:4",
        "message:5",
      ]);
      expect(store.entriesAfter(0, 100).entries[1]).toEqual({
        type: "message",
        id: 2,
        ts: 2,
        from: alice,
        text: "",
        deleted: true,
      });
      const cut = store.entriesAfter(1, 2);
      expect(kinds(cut.entries)).toEqual(["deleted:4", "message:5"]);
      expect(cut.truncated).toBe(true);
      // Newcomers and scroll-back get messages only.
      expect(store.recentMessages(10).map((m) => m.id)).toEqual([1, 2, 3, 5]);
      expect(store.message(2)).toEqual({ id: 2, from: alice, deleted: true, file: false });
      expect(store.message(4)).toBeNull();

      store.appendClear(alice, 6);
      store.appendMessage(alice, say("m7"), 7);
      store.write();
      expect(kinds(store.entriesAfter(0, 100).entries)).toEqual(["cleared:6", "message:7"]);
      expect(store.entriesAfter(0, 100).truncated).toBe(false);
      expect(store.entriesAfter(0, 1).truncated).toBe(true);
      // The ids go on from the newest entry after a restart, even when it is an event.
      store.appendDeletion(7, alice, 8);
      store.write();
      expect(new RoomStorage(storage, 100).appendMessage(alice, say("m9"), 9).id).toBe(9);
    });
  });
});

describe("batched writes", () => {
  it("store a batch in one go, or on failure none of it, giving its ids out again", async () => {
    await inFreshRoom((storage) => {
      const store = new RoomStorage(storage, 100);
      store.appendMessage(alice, say("one"), 1);
      store.write();
      storage.sql.exec("ALTER TABLE messages RENAME TO messages_away");
      store.appendMessage(alice, say("two"), 2);
      store.appendMessage(alice, say("three"), 3);
      let failure: unknown;
      try {
        store.write();
      } catch (error) {
        failure = error;
      }
      expect(failure).toBeInstanceOf(WriteFailed);
      expect((failure as WriteFailed).entries.map((m) => m.id)).toEqual([2, 3]);
      storage.sql.exec("ALTER TABLE messages_away RENAME TO messages");
      store.write(); // nothing held any more
      expect(store.appendMessage(alice, say("two again"), 4).id).toBe(2);
      store.write();
      expect(store.recentMessages(10).map((m) => [m.id, m.text])).toEqual([
        [1, "one"],
        [2, "two again"],
      ]);
    });
  });
});

describe("scroll-back", () => {
  it("pages backwards through the history, oldest first within a page, and says when it is complete", async () => {
    await inFreshRoom((storage) => {
      const store = new RoomStorage(storage, 8);
      for (let i = 1; i <= 10; i++) store.appendMessage(alice, say(`m${i}`), i); // 3..10 kept
      store.write();
      const ids = (page: { messages: { id: number }[] }) => page.messages.map((m) => m.id);
      const first = store.messagesBefore(9, 3);
      expect(ids(first)).toEqual([6, 7, 8]);
      expect(first.complete).toBe(false);
      const second = store.messagesBefore(6, 3);
      expect(ids(second)).toEqual([3, 4, 5]);
      expect(second.complete).toBe(true);
      expect(store.messagesBefore(3, 3)).toEqual({ messages: [], complete: true });
      expect(ids(store.messagesBefore(1000, 2))).toEqual([9, 10]);
    });
  });
});

describe("sessions", () => {
  it("are found by token hash until their time-to-live has passed since last use", async () => {
    await inFreshRoom((storage) => {
      const store = new RoomStorage(storage, 100);
      const hash = hashSecret("secret-token");
      expect(hash).not.toContain("secret-token");
      expect(hashSecret("secret-token")).toBe(hash);
      expect(hashSecret("secret-tokem")).not.toBe(hash);

      store.saveSession(hash, alice, 1_000, 100);
      expect(store.findSession(hash, 1_050, 100)).toEqual(alice);
      expect(store.findSession(hash, 1_101, 100)).toBeNull();
      store.touchSession(hash, 1_090);
      expect(store.findSession(hash, 1_150, 100)).toEqual(alice);
      // Saving again updates the nick; saving another forgets the expired.
      store.saveSession(hash, { ...alice, nick: "Alicia" }, 1_100, 100);
      expect(store.findSession(hash, 1_100, 100)?.nick).toBe("Alicia");
      store.saveSession(hashSecret("other"), alice, 1_500, 100);
      expect(storage.sql.exec<{ n: number }>("SELECT count(*) AS n FROM sessions").one().n).toBe(1);
    });
  });
});

describe("activity", () => {
  it("is remembered: when someone last joined or left, null for a room nobody joined", async () => {
    await inFreshRoom((storage) => {
      const store = new RoomStorage(storage, 100);
      expect(store.lastActive).toBeNull();
      store.markActive(1_000);
      store.markActive(2_000);
      expect(new RoomStorage(storage, 100).lastActive).toBe(2_000);
    });
  });
});

describe("files", () => {
  const upload = (id: string, size: number) => ({
    id,
    name: `${id}.bin`,
    size,
    type: "application/octet-stream",
    from: alice,
  });
  const fileOf = (id: string, size: number) => ({
    id,
    name: `${id}.bin`,
    size,
    type: "application/octet-stream",
    url: `/api/rooms/files-room/files/${id}`,
  });

  it("count against the quota from the moment an upload starts, and go with their message", async () => {
    await inFreshRoom((storage) => {
      const store = new RoomStorage(storage, 3, { room: "files-room" });
      store.startUpload(upload("f1", 100), 1000);
      store.startUpload(upload("f2", 50), 1000);
      expect(store.filesBytes(2000)).toEqual({ bytes: 150, doomed: false });
      expect(store.findUpload("f1")).toEqual(upload("f1", 100));

      const message = store.appendFileMessage(alice, fileOf("f1", 100), 3000);
      expect(store.write()).toEqual({ filesDoomed: false });
      expect(store.findUpload("f1")).toBeNull(); // in a message now
      expect(store.recentMessages(10)).toEqual([{ ...message, text: "", file: fileOf("f1", 100) }]);
      // After a restart, too (the file's details come from its row).
      expect(new RoomStorage(storage, 3, { room: "files-room" }).recentMessages(10)[0]!.file).toEqual(
        fileOf("f1", 100),
      );

      // Three more messages push the file's message out of retention (3): its file is doomed.
      for (const text of ["a", "b"]) store.appendMessage(alice, say(text), 4000);
      expect(store.write()).toEqual({ filesDoomed: false });
      store.appendMessage(alice, say("c"), 4000);
      expect(store.write()).toEqual({ filesDoomed: true });
      expect(store.doomedFiles(10)).toEqual(["f1"]);
      expect(store.filesBytes(5000)).toEqual({ bytes: 50, doomed: false }); // gone for the room already
      store.forgetFiles(["f1"]);
      expect(store.doomedFiles(10)).toEqual([]);
      expect(store.filesBytes(5000)).toEqual({ bytes: 50, doomed: false });
    });
  });

  it("give up an upload unfinished after an hour, freeing its bytes at once", async () => {
    await inFreshRoom((storage) => {
      const store = new RoomStorage(storage, 100);
      store.startUpload(upload("slow", 500), 0);
      expect(store.filesBytes(UPLOAD_TIMEOUT_MS)).toEqual({ bytes: 500, doomed: false });
      expect(store.filesBytes(UPLOAD_TIMEOUT_MS + 1)).toEqual({ bytes: 0, doomed: true });
      expect(store.findUpload("slow")).toBeNull();
      expect(store.doomedFiles(10)).toEqual(["slow"]);
      store.forgetFiles(["slow"]);
      expect(store.filesBytes(UPLOAD_TIMEOUT_MS + 2)).toEqual({ bytes: 0, doomed: false });
    });
  });

  it("look for doomed files only when retention reaches a message with one", async () => {
    await inFreshRoom((storage) => {
      const store = new RoomStorage(storage, 2);
      for (let i = 0; i < 5; i++) {
        store.appendMessage(alice, say(`m${i}`), i);
        expect(store.write()).toEqual({ filesDoomed: false });
      }
      store.startUpload(upload("late", 10), 10);
      store.appendFileMessage(alice, fileOf("late", 10), 11); // id 6
      store.appendMessage(alice, say("m6"), 12);
      expect(store.write()).toEqual({ filesDoomed: false });
      store.appendMessage(alice, say("m7"), 13); // drops id 6
      expect(store.write()).toEqual({ filesDoomed: true });
      expect(store.doomedFiles(10)).toEqual(["late"]);
    });
  });
});
