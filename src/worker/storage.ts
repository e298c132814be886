/**
 * A room's durable state in its Durable Object's SQLite database: the message
 * history, the sessions that let people re-claim their identity, files,
 * the owner key's hash and the roles. Every call is synchronous (SQLite lives in the object's own
 * thread), which keeps the room's handlers free of awaits.
 *
 * Messages are written in batches (write()), and the room sends a message
 * only after the write that holds it: the runtime then holds every outgoing
 * WebSocket frame until the writes before it are durable (output gates), so
 * a message is never seen before its row is safely stored.
 */
import { createHash } from "node:crypto";
import { filePath } from "../shared/files";
import { LIMITS } from "./config";
import { ReactionStore, type ReactionState } from "./reactions";
import { CREATE_SEARCH_INDEX, SearchIndex, searchQuery } from "./search-index";
import {
  DEFAULT_SETTINGS,
  MAX_SEARCH_WORDS,
  MODLOG_ENTRIES,
  QUOTE_LENGTH,
  quoteText,
  utf8Length,
  type ClearedFrame,
  type DeletedFrame,
  type EditedFrame,
  type ReactedFrame,
  type FileInfo,
  type LogEntry,
  type MessageFrame,
  type ModlogEntry,
  type Quote,
  type Role,
  type RoomSettings,
  type SendFrame,
  type User,
} from "../shared/protocol";

/** A migration: SQL, or a step that needs code (it is handed the database
 * and the words a message may have in the search index). */
type Migration = string | ((sql: SqlStorage, searchWords: number) => void);

/**
 * Schema migrations, applied in order, each exactly once, in one transaction
 * with the record that it ran. Never edit a shipped entry: add a new one.
 */
const MIGRATIONS: readonly Migration[] = [
  `CREATE TABLE messages (
     id INTEGER PRIMARY KEY,
     ts INTEGER NOT NULL,
     user_id TEXT NOT NULL,
     nick TEXT NOT NULL,
     text TEXT NOT NULL,
     cid TEXT
   );
   CREATE TABLE sessions (
     token_hash TEXT PRIMARY KEY,
     user_id TEXT NOT NULL,
     nick TEXT NOT NULL,
     last_used INTEGER NOT NULL
   );
   CREATE INDEX sessions_by_last_used ON sessions (last_used);
   CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);`,
  // 2: actions ("/me waves"); NULL for plain messages.
  `ALTER TABLE messages ADD COLUMN action INTEGER`,
  // 3: files (the bytes are in R2, under "<room>/<id>"). A row exists from
  // the moment an upload is allowed; message_id is set when its message is
  // stored, and doomed when its object is to be deleted from R2.
  `CREATE TABLE files (
     id TEXT PRIMARY KEY,
     name TEXT NOT NULL,
     size INTEGER NOT NULL,
     type TEXT NOT NULL,
     user_id TEXT NOT NULL,
     nick TEXT NOT NULL,
     created INTEGER NOT NULL,
     message_id INTEGER,
     doomed INTEGER
   );
   CREATE INDEX files_by_message ON files (message_id);
   CREATE INDEX files_doomed ON files (doomed) WHERE doomed IS NOT NULL;
   ALTER TABLE messages ADD COLUMN file_id TEXT;`,
  // 4: who uploaded from where, for the hourly upload budget per person and
  // per address; and the uploads still under way, found by the alarm.
  `ALTER TABLE files ADD COLUMN address TEXT;
   CREATE INDEX files_by_created ON files (created);`,
  // 5: roles that are not "member", by identity (the owner key's hash is in meta).
  `CREATE TABLE roles (user_id TEXT PRIMARY KEY, role TEXT NOT NULL);`,
  // 6: who may not come in: bans, and the cool-down after a kick ("kick"
  // rows, never listed), by identity and by address (IPv6 by /64).
  `CREATE TABLE bans (
     id TEXT PRIMARY KEY,
     kind TEXT NOT NULL,
     user_id TEXT NOT NULL,
     nick TEXT NOT NULL,
     address TEXT,
     by_id TEXT NOT NULL,
     by_nick TEXT NOT NULL,
     reason TEXT,
     created INTEGER NOT NULL,
     until INTEGER
   );
   CREATE INDEX bans_by_user ON bans (user_id);
   CREATE INDEX bans_by_address ON bans (address) WHERE address IS NOT NULL;`,
  // 7: the moderation log: who did what to whom, when and why.
  `CREATE TABLE modlog (
     id INTEGER PRIMARY KEY,
     at INTEGER NOT NULL,
     action TEXT NOT NULL,
     by_id TEXT NOT NULL,
     by_nick TEXT NOT NULL,
     target_id TEXT,
     target_nick TEXT,
     reason TEXT,
     detail TEXT
   );`,
  // 8: the room's log is messages and events (deletions, clears) with ids
  // from one sequence; a deleted message stays as a tombstone.
  `ALTER TABLE messages ADD COLUMN deleted INTEGER;
   CREATE TABLE events (
     id INTEGER PRIMARY KEY,
     ts INTEGER NOT NULL,
     kind TEXT NOT NULL,
     target INTEGER,
     by_id TEXT NOT NULL,
     by_nick TEXT NOT NULL,
     by_role TEXT
   );`,
  // 9: replies. The quote is kept with the reply (who, and how the original
  // starts), so that it outlives the original's retention; reply_text is
  // NULL once the original is deleted.
  `ALTER TABLE messages ADD COLUMN reply_to INTEGER;
   ALTER TABLE messages ADD COLUMN reply_user TEXT;
   ALTER TABLE messages ADD COLUMN reply_nick TEXT;
   ALTER TABLE messages ADD COLUMN reply_text TEXT;
   CREATE INDEX messages_by_reply ON messages (reply_to) WHERE reply_to IS NOT NULL;`,
  // 10: edits: a message's last edit time, and an edit's new text in the log.
  `ALTER TABLE messages ADD COLUMN edited INTEGER;
   ALTER TABLE events ADD COLUMN text TEXT;`,
  // 11: reactions (who chose which emoji on which message, now) and their
  // entries in the log; the users a message (or an edit's text) mentions
  // (ids, space-separated).
  `CREATE TABLE reactions (
     message INTEGER NOT NULL,
     emoji TEXT NOT NULL,
     user_id TEXT NOT NULL,
     at INTEGER NOT NULL,
     PRIMARY KEY (message, emoji, user_id)
   ) WITHOUT ROWID;
   ALTER TABLE events ADD COLUMN emoji TEXT;
   ALTER TABLE events ADD COLUMN reacted_on INTEGER;
   ALTER TABLE messages ADD COLUMN mentions TEXT;
   ALTER TABLE events ADD COLUMN mentions TEXT;`,
  // 12: search. A full-text index of the messages' text (FTS5, kept by
  // triggers: an edit or a deletion changes the text, retention and clears
  // delete rows), without case or accents ("cafe" finds "Café").
  `CREATE VIRTUAL TABLE messages_fts USING fts5(
     text, content='messages', content_rowid='id', tokenize='unicode61 remove_diacritics 2'
   );
   CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN
     INSERT INTO messages_fts (rowid, text) VALUES (new.id, new.text);
   END;
   CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN
     INSERT INTO messages_fts (messages_fts, rowid, text) VALUES ('delete', old.id, old.text);
   END;
   CREATE TRIGGER messages_fts_update AFTER UPDATE OF text ON messages BEGIN
     INSERT INTO messages_fts (messages_fts, rowid, text) VALUES ('delete', old.id, old.text);
     INSERT INTO messages_fts (rowid, text) VALUES (new.id, new.text);
   END;
   INSERT INTO messages_fts (messages_fts) VALUES ('rebuild');`,
  // 13: deleted means gone. The search index of 12 kept all of every text
  // (and, without secure-delete, the words of deleted texts in its pages):
  // it goes, for one of each message's words (search-index.ts). An edit's
  // text stays only on the newest edit of a live message: older edits are
  // served with it, a deleted message's with none. Nothing of a deleted
  // message is left but its place: no mentions, no quote of what it
  // answered, no file name.
  (sql, searchWords) => {
    sql.exec(`DROP TRIGGER messages_fts_insert; DROP TRIGGER messages_fts_delete;
              DROP TRIGGER messages_fts_update; DROP TABLE messages_fts;`);
    sql.exec(CREATE_SEARCH_INDEX);
    const index = new SearchIndex(sql, searchWords);
    const live = sql.exec<{ id: number; text: string }>(
      "SELECT id, text FROM messages WHERE deleted IS NULL AND text != ''",
    );
    for (const { id, text } of live) index.add(id, text);
    sql.exec(`UPDATE events SET text = NULL, mentions = NULL WHERE kind = 'edited' AND text IS NOT NULL AND (
                target IN (SELECT id FROM messages WHERE deleted = 1)
                OR id < (SELECT max(later.id) FROM events later WHERE later.kind = 'edited' AND later.target = events.target))`);
    sql.exec("CREATE INDEX events_edits ON events (target) WHERE kind = 'edited'");
    sql.exec(`UPDATE messages SET mentions = NULL, reply_to = NULL, reply_user = NULL, reply_nick = NULL, reply_text = NULL
              WHERE deleted = 1`);
    sql.exec("UPDATE files SET name = '' WHERE doomed IS NOT NULL");
  },
  // 14: reactions bounded per message (reactions.ts): how many chose each
  // emoji, the nickname each had (for the full list, a page at a time),
  // and the count a `reacted` entry left.
  `ALTER TABLE reactions ADD COLUMN nick TEXT;
   UPDATE reactions SET nick = (SELECT by_nick FROM events WHERE events.id = reactions.at);
   CREATE INDEX reactions_in_order ON reactions (message, emoji, at);
   CREATE INDEX reactions_by_user ON reactions (user_id, message);
   CREATE TABLE reaction_counts (
     message INTEGER NOT NULL,
     emoji TEXT NOT NULL,
     count INTEGER NOT NULL,
     first_at INTEGER NOT NULL,
     PRIMARY KEY (message, emoji)
   ) WITHOUT ROWID;
   INSERT INTO reaction_counts SELECT message, emoji, count(*), min(at) FROM reactions GROUP BY message, emoji;
   ALTER TABLE events ADD COLUMN count INTEGER;`,
];

/** A ban, or the cool-down after a kick. */
export interface BanRow {
  id: string;
  kind: "kick" | "ban";
  user: User;
  address: string | null;
  by: User;
  reason: string | null;
  /** Ms since the epoch; null: for good. */
  until: number | null;
}

export const SCHEMA_VERSION = MIGRATIONS.length;

type MessageRow = {
  id: number;
  ts: number;
  user_id: string;
  nick: string;
  text: string;
  cid: string | null;
  action: number | null;
  file_id: string | null;
  deleted: number | null;
  reply_to: number | null;
  reply_user: string | null;
  reply_nick: string | null;
  reply_text: string | null;
  edited: number | null;
  mentions: string | null;
  file_name: string | null;
  file_size: number | null;
  file_type: string | null;
  /** The message it answers, as it is now (null: none, or gone with retention). */
  original_id: number | null;
  original_text: string | null;
  original_deleted: number | null;
  original_file: string | null;
};

/** An event of the log: an edit, a reaction, a deletion or a clear, as
 * EVENTS reads it. */
type EventRow = {
  id: number;
  ts: number;
  kind: "edited" | "reacted" | "deleted" | "cleared";
  target: number | null;
  text: string | null;
  emoji: string | null;
  reacted_on: number | null;
  mentions: string | null;
  count: number | null;
  by_id: string;
  by_nick: string;
  by_role: "owner" | "moderator" | null;
  /** An edit's message's text now, and who it mentions: the newest edit's
   * (null: the message is deleted). */
  now_text: string | null;
  now_mentions: string | null;
};

/** Events, an edit with its message's text as it is now: only the newest
 * edit of a message keeps the text, and a deletion takes even that. */
const EVENTS = `SELECT e.*, coalesce(e.text, l.text) AS now_text,
    CASE WHEN e.text IS NULL THEN l.mentions ELSE e.mentions END AS now_mentions
  FROM events e LEFT JOIN events l
    ON e.kind = 'edited' AND e.text IS NULL AND l.kind = 'edited' AND l.target = e.target AND l.text IS NOT NULL`;

/** How many of the newest messages' quotes are kept in memory for replies. */
const QUOTES_KEPT = 1_000;

/** The least an entry of the log takes as JSON, whatever its text: type,
 * ids, time, a user (a reaction's entry is about this). */
const ENTRY_BYTES = 100;

/** The text of a message row, which an answer's size is mostly made of. */
const messageText = (row: MessageRow): string => row.text;

/** A user as a quote names them: id and nickname. */
const plainUser = (user: User): User => ({ id: user.id, nick: user.nick });

/** How much of a reply's original is read for its quote, in characters: a
 * quote shows QUOTE_LENGTH of them, after runs of spaces are made one. */
const QUOTE_READ = 4 * QUOTE_LENGTH;

/** Messages with their files' details, and a reply with the message it
 * answers as it is now (the start of it): every read of the history goes
 * through this. */
const MESSAGES = `SELECT m.*, f.name AS file_name, f.size AS file_size, f.type AS file_type,
    o.id AS original_id, substr(o.text, 1, ${QUOTE_READ} + 1) AS original_text, o.deleted AS original_deleted,
    ofile.name AS original_file
  FROM messages m LEFT JOIN files f ON f.id = m.file_id
    LEFT JOIN messages o ON o.id = m.reply_to LEFT JOIN files ofile ON ofile.id = o.file_id`;

/** A file allowed to upload and not yet in a message. */
export interface FileUpload {
  id: string;
  name: string;
  size: number;
  type: string;
  from: User;
  /** The uploader's address (clientIp), when known. */
  address?: string | null;
}

/** Bytes uploaded in a window, and when the oldest of them started (ms). */
export type Usage = {
  bytes: number;
  oldest: number | null;
};

/** An upload that has not finished within this long is given up. */
export const UPLOAD_TIMEOUT_MS = 3_600_000;

/** Only a hash of a secret (a session token, the owner key) is stored: a leaked database re-claims no one. */
export function hashSecret(token: string): string {
  return createHash("sha256").update(token).digest("base64url");
}

/** A write() that failed: the messages it could not store, and why. */
export class WriteFailed extends Error {
  override name = "WriteFailed";
  constructor(
    readonly entries: readonly LogEntry[],
    override readonly cause: unknown,
  ) {
    super(`could not store ${entries.length} log entries: ${String(cause)}`);
  }
}

export interface History {
  entries: LogEntry[];
  /** Entries after the requested id existed but are not in `entries`. */
  truncated: boolean;
}

/** A stored message's sender, whether it is deleted, and whether it is a
 * file's (for `delete` and `edit`). */
export interface StoredMessage {
  id: number;
  from: User;
  deleted: boolean;
  file: boolean;
}

export class RoomStorage {
  readonly #storage: DurableObjectStorage;
  readonly #sql: SqlStorage;
  readonly #retention: number;
  /** The newest log entry's id, read once at start-up and kept here since. */
  #lastId: number;

  /** Most bytes of messages in one answer (HISTORY_MAX_BYTES). */
  readonly #answerBytes: number;

  /** The room's name, for its files' URLs. */
  readonly #room: string;

  /** The search index's writes (search-index.ts). */
  readonly #search: SearchIndex;
  /** The reactions' tables (reactions.ts). */
  readonly #reactions: ReactionStore;
  /** Most words of a message the search index takes (SEARCH_WORDS_PER_MESSAGE). */
  readonly #searchWords: number;

  constructor(
    storage: DurableObjectStorage,
    retention: number,
    options: { answerBytes?: number; room?: string; searchWords?: number } = {},
  ) {
    this.#storage = storage;
    this.#sql = storage.sql;
    this.#retention = retention;
    this.#answerBytes = options.answerBytes ?? Infinity;
    this.#room = options.room ?? "";
    this.#searchWords = options.searchWords ?? LIMITS.searchWordsPerMessage.default;
    this.#search = new SearchIndex(this.#sql, this.#searchWords);
    this.#reactions = new ReactionStore(this.#sql);
    this.#migrate();
    this.#lastId = this.#sql
      .exec<{ id: number }>(
        "SELECT max(coalesce((SELECT max(id) FROM messages), 0), coalesce((SELECT max(id) FROM events), 0)) AS id",
      )
      .one().id;
    this.#firstFileMessage =
      this.#sql.exec<{ id: number | null }>("SELECT min(message_id) AS id FROM files WHERE doomed IS NULL").one().id ??
      Infinity;
  }

  /** The oldest message with a file, so that retention looks for files only when one is due. */
  #firstFileMessage: number;

  #toFrame(row: MessageRow): MessageFrame {
    const frame: MessageFrame = {
      type: "message",
      id: row.id,
      ts: row.ts,
      from: { id: row.user_id, nick: row.nick },
      text: row.text,
    };
    if (row.cid !== null) frame.cid = row.cid;
    if (row.deleted === 1) {
      frame.deleted = true;
      return frame;
    }
    if (row.edited !== null) frame.edited = row.edited;
    if (row.mentions !== null) frame.mentions = row.mentions.split(" ");
    if (row.reply_to !== null) {
      // The original as it is now (its edits, its deletion); once retention
      // took it, the quote kept with the reply (null once it was deleted).
      const from = { id: row.reply_user ?? "", nick: row.reply_nick ?? "" };
      const text =
        row.original_id === null
          ? row.reply_text
          : row.original_deleted === 1
            ? null
            : quoteOf(row.original_file ?? row.original_text ?? "");
      frame.replyTo =
        text === null ? { id: row.reply_to, from, text: "", deleted: true } : { id: row.reply_to, from, text };
    }
    if (row.action === 1) frame.action = true;
    if (row.file_id !== null && row.file_name !== null) {
      frame.file = {
        id: row.file_id,
        name: row.file_name,
        size: row.file_size ?? 0,
        type: row.file_type ?? "application/octet-stream",
        url: filePath(this.#room, row.file_id),
      };
    }
    return frame;
  }

  #migrate(): void {
    this.#sql.exec(
      "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)",
    );
    const applied = this.#sql
      .exec<{ v: number }>("SELECT coalesce(max(version), 0) AS v FROM schema_migrations")
      .one().v;
    for (let version = applied + 1; version <= MIGRATIONS.length; version++) {
      this.#storage.transactionSync(() => {
        const migration = MIGRATIONS[version - 1]!;
        if (typeof migration === "string") this.#sql.exec(migration);
        else migration(this.#sql, this.#searchWords);
        this.#sql.exec("INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)", version, Date.now());
      });
    }
  }

  /**
   * Gives a message the next id and holds it for the next write(): messages
   * that arrive together are stored together, in one transaction (one
   * commit), which under load is what a room's storage costs. The caller
   * sends the message to no one before write() has succeeded.
   */
  appendMessage(from: User, sent: SendFrame, ts: number, replyTo?: Quote, mentions: string[] = []): MessageFrame {
    const id = ++this.#lastId;
    const frame: MessageFrame = { type: "message", id, ts, from, text: sent.text };
    if (sent.cid !== undefined) frame.cid = sent.cid;
    if (sent.action) frame.action = true;
    if (replyTo !== undefined) frame.replyTo = replyTo;
    if (mentions.length > 0) frame.mentions = mentions;
    this.#hold(frame);
    return frame;
  }

  /** appendMessage for a finished upload: a message that carries the file. */
  appendFileMessage(from: User, file: FileInfo, ts: number): MessageFrame {
    const frame: MessageFrame = { type: "message", id: ++this.#lastId, ts, from, text: "", file };
    this.#hold(frame);
    return frame;
  }

  /** A new message, held for the next write() and quotable at once. */
  #hold(frame: MessageFrame): void {
    this.#unwritten.push(frame);
    this.#quotes.set(frame.id, { from: plainUser(frame.from), text: frame.file?.name ?? frame.text });
    if (this.#quotes.size > QUOTES_KEPT) this.#quotes.delete(this.#quotes.keys().next().value!);
  }

  /** The newest messages' senders and texts (a file's name), so that a
   * reply to a recent message reads no storage: the room's hot path stays
   * free of reads, and a quote is cut from the text only when a reply asks.
   * A deletion or a clear takes entries out; a failed write empties it (ids
   * are given again). */
  readonly #quotes = new Map<number, { from: User; text: string }>();

  /** How a reply to message `id` quotes it, or null when there is no such
   * message to answer (never sent, deleted, gone with retention or a clear). */
  quote(id: number): Quote | null {
    // A deletion or a clear of this turn, not written yet, counts already.
    const gone = this.#unwritten.some(
      (entry) => (entry.type === "deleted" && entry.target === id) || (entry.type === "cleared" && entry.id > id),
    );
    if (gone) return null;
    const known = this.#quotes.get(id);
    if (known !== undefined) return { id, from: known.from, text: quoteOf(known.text) };
    const row = this.#sql
      .exec<{ user_id: string; nick: string; text: string; deleted: number | null; file_name: string | null }>(
        `SELECT m.user_id, m.nick, substr(m.text, 1, ${QUOTE_READ} + 1) AS text, m.deleted, f.name AS file_name
         FROM messages m LEFT JOIN files f ON f.id = m.file_id WHERE m.id = ?`,
        id,
      )
      .toArray()[0];
    if (row === undefined || row.deleted === 1) return null;
    return { id, from: { id: row.user_id, nick: row.nick }, text: quoteOf(row.file_name ?? row.text) };
  }

  /** A deletion of message `target`, given the next id and held for the
   * next write(), like a message. The caller has checked that the message
   * exists and is not deleted (message()). */
  appendDeletion(target: number, by: User, ts: number): DeletedFrame {
    const entry: DeletedFrame = { type: "deleted", id: ++this.#lastId, ts, target, by };
    this.#unwritten.push(entry);
    this.#quotes.delete(target);
    return entry;
  }

  /** An edit of message `target` by its sender, given the next id and held
   * for the next write(). The caller has checked that it may (message()). */
  appendEdit(target: number, by: User, text: string, ts: number, mentions: string[] = []): EditedFrame {
    const entry: EditedFrame = { type: "edited", id: ++this.#lastId, target, text, ts, by };
    if (mentions.length > 0) entry.mentions = mentions;
    this.#unwritten.push(entry);
    const quoted = this.#quotes.get(target);
    if (quoted !== undefined) quoted.text = text;
    return entry;
  }

  /** A reaction added (`on`) or taken back, given the next id and held for
   * the next write(), with how many have `emoji` on then. The caller has
   * checked that it changes something (reactionState()) and that the
   * message exists. */
  appendReaction(target: number, user: User, emoji: string, on: boolean, ts: number, count: number): ReactedFrame {
    const entry: ReactedFrame = { type: "reacted", id: ++this.#lastId, target, emoji, user, on, ts, count };
    this.#unwritten.push(entry);
    return entry;
  }

  /** What `react` needs to know of `emoji` on message `id`, as stored (the
   * caller writes first). */
  reactionState(id: number, emoji: string, userId: string): ReactionState {
    return this.#reactions.state(id, emoji, userId);
  }

  /** Who chose `emoji` on message `id`, a page from `offset`, and how many in all. */
  reactors(id: number, emoji: string, offset: number, limit: number): { count: number; users: User[] } {
    return this.#reactions.page(id, emoji, offset, limit);
  }

  /** A clear of the whole history, given the next id and held for the next write(). */
  appendClear(by: User, ts: number): ClearedFrame {
    const entry: ClearedFrame = { type: "cleared", id: ++this.#lastId, ts, by };
    this.#unwritten.push(entry);
    this.#quotes.clear();
    return entry;
  }

  /** Log entries given an id and not yet written. */
  #unwritten: LogEntry[] = [];

  /**
   * Stores every held entry and drops what falls out of retention, in one
   * transaction: all of it happens or none. A deletion empties its message
   * (a tombstone), a clear deletes everything before it, and either marks
   * the files they took with them for deletion from R2. On failure the held
   * entries are forgotten and their ids given out again (no one has seen
   * them), and the error is thrown with them: `WriteFailed`.
   */
  write(): { filesDoomed: boolean } {
    const batch = this.#unwritten;
    if (batch.length === 0) return { filesDoomed: false };
    this.#unwritten = [];
    let filesDoomed = false;
    let firstFileMessage = this.#firstFileMessage;
    try {
      this.#storage.transactionSync(() => {
        for (const m of batch) {
          if (m.type !== "message") {
            if (this.#writeEvent(m)) filesDoomed = true;
            if (m.type === "cleared") firstFileMessage = Number.POSITIVE_INFINITY;
            continue;
          }
          this.#sql.exec(
            `INSERT INTO messages (id, ts, user_id, nick, text, cid, action, file_id, reply_to, reply_user, reply_nick, reply_text, mentions)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
            m.id,
            m.ts,
            m.from.id,
            m.from.nick,
            m.text,
            m.cid ?? null,
            m.action ? 1 : null,
            m.file?.id ?? null,
            m.replyTo?.id ?? null,
            m.replyTo?.from.id ?? null,
            m.replyTo?.from.nick ?? null,
            m.replyTo?.text ?? null,
            m.mentions?.join(" ") ?? null,
          );
          if (m.file !== undefined) {
            this.#sql.exec("UPDATE files SET message_id = ? WHERE id = ?", m.id, m.file.id);
            firstFileMessage = Math.min(firstFileMessage, m.id);
          } else this.#search.add(m.id, m.text);
        }
        // Ids are gapless, so the rows to drop are exactly those at or below this.
        const last = batch.at(-1)!.id;
        if (last <= this.#retention) return;
        const dropUpTo = last - this.#retention;
        if (dropUpTo >= firstFileMessage) {
          // A file lives as long as its message: mark the objects for deletion.
          this.#sql.exec("UPDATE files SET doomed = 1 WHERE message_id <= ? AND doomed IS NULL", dropUpTo);
          firstFileMessage =
            this.#sql.exec<{ id: number | null }>("SELECT min(message_id) AS id FROM files WHERE doomed IS NULL").one()
              .id ?? Infinity;
          filesDoomed = true;
        }
        this.#search.dropUpTo(dropUpTo);
        this.#sql.exec("DELETE FROM messages WHERE id <= ?", dropUpTo);
        this.#sql.exec("DELETE FROM events WHERE id <= ?", dropUpTo);
        this.#reactions.dropUpTo(dropUpTo);
      });
    } catch (error) {
      this.#lastId = batch[0]!.id - 1;
      this.#quotes.clear();
      throw new WriteFailed(batch, error);
    }
    this.#firstFileMessage = firstFileMessage;
    return { filesDoomed };
  }

  /** Stores an event (an edit, a reaction, a deletion, a clear) and does
   * what it says (in write()'s transaction): whether files were marked for
   * deletion. */
  #writeEvent(entry: EditedFrame | ReactedFrame | DeletedFrame | ClearedFrame): boolean {
    const by = entry.type === "reacted" ? entry.user : entry.by;
    this.#sql.exec(
      "INSERT INTO events (id, ts, kind, target, by_id, by_nick, by_role, text, emoji, reacted_on, mentions, count) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
      entry.id,
      entry.ts,
      entry.type,
      entry.type === "cleared" ? null : entry.target,
      by.id,
      by.nick,
      by.role ?? null,
      entry.type === "edited" ? entry.text : null,
      entry.type === "reacted" ? entry.emoji : null,
      entry.type === "reacted" ? Number(entry.on) : null,
      entry.type === "edited" ? (entry.mentions?.join(" ") ?? null) : null,
      entry.type === "reacted" ? (entry.count ?? null) : null,
    );
    if (entry.type === "reacted") {
      this.#reactions.apply(entry);
      return false;
    }
    if (entry.type === "edited") {
      this.#sql.exec(
        "UPDATE messages SET text = ?, edited = ?, mentions = ? WHERE id = ?",
        entry.text,
        entry.ts,
        entry.mentions?.join(" ") ?? null,
        entry.target,
      );
      // One copy of the text in the log: the newest edit's. Older edits are
      // served with it (#events), and replies quote the message as it is now.
      this.#sql.exec(
        "UPDATE events SET text = NULL, mentions = NULL WHERE kind = 'edited' AND target = ? AND id < ? AND text IS NOT NULL",
        entry.target,
        entry.id,
      );
      this.#search.replace(entry.target, entry.text);
      return false;
    }
    if (entry.type === "deleted") {
      // Deleted means gone: nothing of the message is left but its place
      // (id, time, sender, cid), no version of its text anywhere: not in
      // its row, its edits, the quotes of the replies to it, the search
      // index or its file's name. (Edits of it become tombstones: #events.)
      this.#sql.exec(
        `UPDATE messages SET text = '', action = NULL, file_id = NULL, mentions = NULL,
           reply_to = NULL, reply_user = NULL, reply_nick = NULL, reply_text = NULL, deleted = 1 WHERE id = ?`,
        entry.target,
      );
      this.#sql.exec(
        "UPDATE events SET text = NULL, mentions = NULL WHERE kind = 'edited' AND target = ? AND text IS NOT NULL",
        entry.target,
      );
      this.#sql.exec("UPDATE messages SET reply_text = NULL WHERE reply_to = ?", entry.target);
      this.#search.remove(entry.target);
      // Nobody reacts to a tombstone.
      this.#reactions.removeMessage(entry.target);
      return (
        this.#sql.exec("UPDATE files SET doomed = 1, name = '' WHERE message_id = ? AND doomed IS NULL", entry.target)
          .rowsWritten > 0
      );
    }
    this.#sql.exec("DELETE FROM messages WHERE id < ?", entry.id);
    this.#sql.exec("DELETE FROM events WHERE id < ?", entry.id);
    this.#reactions.dropUpTo(entry.id - 1);
    this.#search.clear();
    return (
      this.#sql.exec("UPDATE files SET doomed = 1, name = '' WHERE message_id IS NOT NULL AND doomed IS NULL")
        .rowsWritten > 0
    );
  }

  // The reads below see what write() has stored: the room writes first
  // (chat.ts), where a failed write can be taken back from everyone.

  // Every read does work in proportion to what it answers: rows are read
  // newest first, one at a time, and no more once their text alone is over
  // the answer's bytes (#take); a reply's original is read only as far as
  // its quote needs (MESSAGES); a crowded message's reactions only as far
  // as they are shown (reactions.ts).

  /** The newest messages (deleted ones as tombstones), oldest first: at
   * most `limit`, and at most the answer's bytes of JSON (but never none
   * when there is one), as `you` sees them (reactions.ts). The log's other
   * entries are left out: a newcomer needs the messages as they are now,
   * not how they came to be. */
  recentMessages(limit: number, you: string | null = null, maxBytes = this.#answerBytes): MessageFrame[] {
    if (limit === 0) return [];
    const rows = this.#sql.exec<MessageRow>(`${MESSAGES} ORDER BY m.id DESC LIMIT ?`, limit);
    const taken = this.#take(rows, limit, messageText, maxBytes).rows;
    return this.#within(this.#frames(taken, you), limit, maxBytes).entries.reverse();
  }

  /** The log after `since`, oldest first: every entry (messages as they are
   * now), or the newest that fit `limit` and the answer's bytes, with
   * `truncated` set when entries after `since` are missing (cut here, or
   * gone with retention). Entries before a clear are gone by design: a
   * resume that starts at a `cleared` entry is whole. */
  entriesAfter(since: number, limit: number, you: string | null = null, maxBytes = this.#answerBytes): History {
    const missed = Math.max(0, this.#lastId - since);
    const want = Math.min(missed, limit);
    if (want === 0) return { entries: [], truncated: false };
    const messageRows = this.#sql.exec<MessageRow>(
      `${MESSAGES} WHERE m.id > ? ORDER BY m.id DESC LIMIT ?`,
      since,
      want,
    );
    const messages = this.#frames(this.#take(messageRows, want, messageText, maxBytes).rows, you);
    const eventRows = this.#sql.exec<EventRow>(`${EVENTS} WHERE e.id > ? ORDER BY e.id DESC LIMIT ?`, since, want);
    const events = this.#events(this.#take(eventRows, want, (row) => row.now_text, maxBytes).rows);
    const entries = this.#within(newestFirst(messages, events), want, maxBytes).entries.reverse();
    const first = entries[0];
    const whole = first !== undefined && (first.id === since + 1 || first.type === "cleared");
    return { entries, truncated: !whole };
  }

  /** Messages with ids below `before`, oldest first: at most `limit` and
   * the answer's bytes, and whether they reach back to the oldest message the room
   * still has. Like recentMessages, messages only. */
  messagesBefore(
    before: number,
    limit: number,
    you: string | null = null,
  ): { messages: MessageFrame[]; complete: boolean } {
    const rows = this.#sql.exec<MessageRow>(`${MESSAGES} WHERE m.id < ? ORDER BY m.id DESC LIMIT ?`, before, limit + 1);
    const taken = this.#take(rows, limit, messageText);
    const { entries, more } = this.#within(this.#frames(taken.rows, you), limit);
    return { messages: entries.reverse(), complete: !more && !taken.more };
  }

  /**
   * Messages whose words start with every word of `query` (case and accents
   * aside), newest first, with ids below `before`: at most `limit` and the
   * answer's bytes, and whether that was all. Deleted messages are not in
   * the index; edited ones are, by their text now. Each word is one prefix
   * index's list of messages (search-index.ts): a query walks at most
   * MAX_SEARCH_WORDS lists of the messages the room keeps.
   */
  search(
    query: string,
    before: number,
    limit: number,
    you: string | null = null,
  ): { messages: MessageFrame[]; complete: boolean } {
    const match = searchQuery(query, MAX_SEARCH_WORDS);
    if (match === null) return { messages: [], complete: true };
    const rows = this.#sql.exec<MessageRow>(
      `${MESSAGES} JOIN search s ON s.rowid = m.id
       WHERE search MATCH ? AND s.rowid < ? AND m.deleted IS NULL ORDER BY s.rowid DESC LIMIT ?`,
      match,
      before,
      limit + 1,
    );
    const taken = this.#take(rows, limit, messageText);
    const { entries, more } = this.#within(this.#frames(taken.rows, you), limit);
    return { messages: entries, complete: !more && !taken.more };
  }

  /** One message as `delete` needs it, or null when the room does not have it. */
  message(id: number): StoredMessage | null {
    const row = this.#sql
      .exec<{ user_id: string; nick: string; deleted: number | null; file_id: string | null }>(
        "SELECT user_id, nick, deleted, file_id FROM messages WHERE id = ?",
        id,
      )
      .toArray()[0];
    if (row === undefined) return null;
    return { id, from: { id: row.user_id, nick: row.nick }, deleted: row.deleted === 1, file: row.file_id !== null };
  }

  /** Rows (newest first) read one at a time while they may still fit the
   * answer: at most `limit`, and none more once their text and the least a
   * frame takes (ENTRY_BYTES each) are over the answer's bytes (but never
   * none); whether a row was left unread. */
  #take<R>(
    rows: Iterable<R>,
    limit: number,
    textOf: (row: R) => string | null,
    maxBytes = this.#answerBytes,
  ): { rows: R[]; more: boolean } {
    const taken: R[] = [];
    let bytes = 0;
    for (const row of rows) {
      if (taken.length === limit || (taken.length > 0 && bytes > maxBytes)) return { rows: taken, more: true };
      bytes += ENTRY_BYTES + utf8Length(textOf(row) ?? "");
      taken.push(row);
    }
    return { rows: taken, more: false };
  }

  /** Rows as frames, with their reactions as `you` sees them (reactions.ts). */
  #frames(rows: readonly MessageRow[], you: string | null): MessageFrame[] {
    const byId = new Map<number, MessageFrame>();
    for (const row of rows) byId.set(row.id, this.#toFrame(row));
    this.#reactions.attach(byId, you);
    return [...byId.values()];
  }

  *#events(rows: Iterable<EventRow>): Generator<EditedFrame | ReactedFrame | DeletedFrame | ClearedFrame> {
    for (const row of rows) {
      const by: User = { id: row.by_id, nick: row.by_nick };
      if (row.by_role !== null) by.role = row.by_role;
      const target = row.target ?? 0;
      if (row.kind === "reacted") {
        const reacted: ReactedFrame = {
          type: "reacted",
          id: row.id,
          target,
          emoji: row.emoji ?? "",
          user: by,
          on: row.reacted_on === 1,
          ts: row.ts,
        };
        if (row.count !== null) reacted.count = row.count;
        yield reacted;
      } else if (row.kind === "edited") {
        const edited: EditedFrame = { type: "edited", id: row.id, target, text: row.now_text ?? "", ts: row.ts, by };
        // An edit of a deleted message: a tombstone, like the message.
        if (row.now_text === null) edited.deleted = true;
        else if (row.now_mentions !== null) edited.mentions = row.now_mentions.split(" ");
        yield edited;
      } else if (row.kind === "deleted") yield { type: "deleted", id: row.id, ts: row.ts, target, by };
      else yield { type: "cleared", id: row.id, ts: row.ts, by };
    }
  }

  /** Entries (newest first) while they fit the answer's bytes and `limit`,
   * and whether any was left out. */
  #within<T extends LogEntry>(
    frames: Iterable<T>,
    limit = Number.POSITIVE_INFINITY,
    maxBytes = this.#answerBytes,
  ): { entries: T[]; more: boolean } {
    const entries: T[] = [];
    let bytes = 0;
    for (const frame of frames) {
      // Measured as the JSON it will be sent as, +1 for the comma.
      bytes += utf8Length(JSON.stringify(frame)) + 1;
      if (entries.length === limit || (bytes > maxBytes && entries.length > 0)) return { entries, more: true };
      entries.push(frame);
    }
    return { entries, more: false };
  }

  /** The identity behind a session token, if it was used within `ttlMs`. */
  findSession(tokenHash: string, now: number, ttlMs: number): User | null {
    const row = this.#sql
      .exec<{ user_id: string; nick: string }>(
        "SELECT user_id, nick FROM sessions WHERE token_hash = ? AND last_used >= ?",
        tokenHash,
        now - ttlMs,
      )
      .toArray()[0];
    return row === undefined ? null : { id: row.user_id, nick: row.nick };
  }

  /** Records a session as used now (creating it if new) and forgets expired ones. */
  saveSession(tokenHash: string, user: User, now: number, ttlMs: number): void {
    this.#sql.exec(
      `INSERT INTO sessions (token_hash, user_id, nick, last_used) VALUES (?, ?, ?, ?)
       ON CONFLICT (token_hash) DO UPDATE SET nick = excluded.nick, last_used = excluded.last_used`,
      tokenHash,
      user.id,
      user.nick,
      now,
    );
    this.#sql.exec("DELETE FROM sessions WHERE last_used < ?", now - ttlMs);
  }

  /** Marks a session as used now, e.g. when its socket closes. */
  touchSession(tokenHash: string, now: number): void {
    this.#sql.exec("UPDATE sessions SET last_used = ? WHERE token_hash = ?", now, tokenHash);
  }

  /** When someone last joined or left the room (ms since the epoch), or
   * null for a room nobody ever joined. */
  get lastActive(): number | null {
    const row = this.#sql.exec<{ value: string }>("SELECT value FROM meta WHERE key = 'active'").toArray()[0];
    return row === undefined ? null : Number(row.value);
  }

  /** Records that someone joined or left now: the room is in use. */
  markActive(now: number): void {
    this.#sql.exec(
      "INSERT INTO meta (key, value) VALUES ('active', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
      String(now),
    );
  }

  /** The hash of the room's owner key; null for a room nobody owns. */
  get ownerKeyHash(): string | null {
    const row = this.#sql.exec<{ value: string }>("SELECT value FROM meta WHERE key = 'owner_key'").toArray()[0];
    return row?.value ?? null;
  }

  setOwnerKeyHash(hash: string): void {
    this.#sql.exec(
      "INSERT INTO meta (key, value) VALUES ('owner_key', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
      hash,
    );
  }

  /** The room's settings (the defaults for what was never set). */
  get settings(): RoomSettings {
    const row = this.#sql.exec<{ value: string }>("SELECT value FROM meta WHERE key = 'settings'").toArray()[0];
    return row === undefined ? { ...DEFAULT_SETTINGS } : { ...DEFAULT_SETTINGS, ...(JSON.parse(row.value) as object) };
  }

  saveSettings(settings: RoomSettings): void {
    this.#sql.exec(
      "INSERT INTO meta (key, value) VALUES ('settings', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
      JSON.stringify(settings),
    );
  }

  /** Every identity with the owner role. */
  owners(): string[] {
    return this.#sql
      .exec<{ user_id: string }>("SELECT user_id FROM roles WHERE role = 'owner'")
      .toArray()
      .map((row) => row.user_id);
  }

  /** An identity's role in the room ("member" unless it was given another). */
  roleOf(userId: string): Role {
    const row = this.#sql.exec<{ role: Role }>("SELECT role FROM roles WHERE user_id = ?", userId).toArray()[0];
    return row?.role ?? "member";
  }

  setRole(userId: string, role: Role): void {
    if (role === "member") this.#sql.exec("DELETE FROM roles WHERE user_id = ?", userId);
    else
      this.#sql.exec(
        "INSERT INTO roles (user_id, role) VALUES (?, ?) ON CONFLICT (user_id) DO UPDATE SET role = excluded.role",
        userId,
        role,
      );
  }

  /** Keeps someone out (and forgets the bans that have ended). */
  addBan(ban: BanRow, now: number): void {
    this.#sql.exec("DELETE FROM bans WHERE until IS NOT NULL AND until <= ?", now);
    this.#sql.exec(
      `INSERT INTO bans (id, kind, user_id, nick, address, by_id, by_nick, reason, created, until)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ban.id,
      ban.kind,
      ban.user.id,
      ban.user.nick,
      ban.address,
      ban.by.id,
      ban.by.nick,
      ban.reason,
      now,
      ban.until,
    );
  }

  /** What keeps this identity or address out now, if anything: a ban before
   * a kick's cool-down, the longest first. */
  barring(userId: string, address: string | null, now: number): BanRow | null {
    const row = this.#sql
      .exec<BanSqlRow>(
        `SELECT * FROM bans WHERE (user_id = ? OR (address IS NOT NULL AND address = ?))
           AND (until IS NULL OR until > ?)
         ORDER BY kind = 'ban' DESC, until IS NULL DESC, until DESC LIMIT 1`,
        userId,
        address,
        now,
      )
      .toArray()[0];
    return row === undefined ? null : banOf(row);
  }

  /** The bans in force (kicks' cool-downs left out), newest first. */
  bans(now: number): BanRow[] {
    return this.#sql
      .exec<BanSqlRow>(
        "SELECT * FROM bans WHERE kind = 'ban' AND (until IS NULL OR until > ?) ORDER BY created DESC, id",
        now,
      )
      .toArray()
      .map(banOf);
  }

  /** Lifts a ban; false when there is no such ban in force. */
  removeBan(id: string, now: number): boolean {
    const found = this.#sql
      .exec("SELECT id FROM bans WHERE id = ? AND kind = 'ban' AND (until IS NULL OR until > ?)", id, now)
      .toArray().length;
    if (found === 0) return false;
    this.#sql.exec("DELETE FROM bans WHERE id = ?", id);
    return true;
  }

  /** Records a moderation action, keeping the newest MODLOG_ENTRIES. */
  logModeration(entry: ModlogEntry): void {
    this.#sql.exec(
      `INSERT INTO modlog (at, action, by_id, by_nick, target_id, target_nick, reason, detail)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      entry.at,
      entry.action,
      entry.by.id,
      entry.by.nick,
      entry.target?.id ?? null,
      entry.target?.nick ?? null,
      entry.reason ?? null,
      entry.detail ?? null,
    );
    this.#sql.exec("DELETE FROM modlog WHERE id <= (SELECT max(id) FROM modlog) - ?", MODLOG_ENTRIES);
  }

  /** The moderation log, newest first. */
  moderationLog(): ModlogEntry[] {
    type Row = {
      at: number;
      action: ModlogEntry["action"];
      by_id: string;
      by_nick: string;
      target_id: string | null;
      target_nick: string | null;
      reason: string | null;
      detail: string | null;
    };
    return this.#sql
      .exec<Row>("SELECT * FROM modlog ORDER BY id DESC LIMIT ?", MODLOG_ENTRIES)
      .toArray()
      .map((row) => {
        const entry: ModlogEntry = { at: row.at, action: row.action, by: { id: row.by_id, nick: row.by_nick } };
        if (row.target_id !== null) entry.target = { id: row.target_id, nick: row.target_nick ?? "" };
        if (row.reason !== null) entry.reason = row.reason;
        if (row.detail !== null) entry.detail = row.detail;
        return entry;
      });
  }

  /** Marks every file for deletion (the room is going): they leave the quota now. */
  doomAllFiles(): void {
    this.#sql.exec("UPDATE files SET doomed = 1 WHERE doomed IS NULL");
  }

  // -- Files ----------------------------------------------------------------

  /** Bytes of files the room holds or is receiving, after giving up uploads
   * older than UPLOAD_TIMEOUT_MS (true in `doomed` when it did). Files on
   * their way out of R2 no longer count: for the people in the room they are gone. */
  filesBytes(now: number): { bytes: number; doomed: boolean } {
    const { doomed } = this.giveUpUploads(now - UPLOAD_TIMEOUT_MS);
    const bytes = this.#sql
      .exec<{ bytes: number }>("SELECT coalesce(sum(size), 0) AS bytes FROM files WHERE doomed IS NULL")
      .one().bytes;
    return { bytes, doomed };
  }

  /** Records an allowed upload: its bytes count against the quota from now on. */
  startUpload(upload: FileUpload, now: number): void {
    this.#sql.exec(
      "INSERT INTO files (id, name, size, type, user_id, nick, created, address) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
      upload.id,
      upload.name,
      upload.size,
      upload.type,
      upload.from.id,
      upload.from.nick,
      now,
      upload.address ?? null,
    );
  }

  /** Bytes of uploads started since `since` by this user, and from this
   * address (null: not counted), and when the oldest of each was started. */
  uploadedSince(since: number, userId: string, address: string | null): { user: Usage; address: Usage } {
    const usage = (column: "user_id" | "address", value: string | null): Usage =>
      value === null
        ? { bytes: 0, oldest: null }
        : this.#sql
            .exec<Usage>(
              `SELECT coalesce(sum(size), 0) AS bytes, min(created) AS oldest FROM files WHERE created >= ? AND ${column} = ?`,
              since,
              value,
            )
            .one();
    return { user: usage("user_id", userId), address: usage("address", address) };
  }

  /** Gives up the uploads started before `before` and not finished: whether
   * there were any (their objects are then to be deleted), and when the
   * oldest upload still under way was started (null: none). */
  giveUpUploads(before: number): { doomed: boolean; oldestPending: number | null } {
    const doomed =
      this.#sql.exec("UPDATE files SET doomed = 1 WHERE message_id IS NULL AND doomed IS NULL AND created < ?", before)
        .rowsWritten > 0;
    const oldestPending = this.#sql
      .exec<{ created: number | null }>(
        "SELECT min(created) AS created FROM files WHERE message_id IS NULL AND doomed IS NULL",
      )
      .one().created;
    return { doomed, oldestPending };
  }

  /** An upload still waiting for its message (not given up). */
  findUpload(id: string): FileUpload | null {
    const row = this.#sql
      .exec<{ id: string; name: string; size: number; type: string; user_id: string; nick: string }>(
        "SELECT id, name, size, type, user_id, nick FROM files WHERE id = ? AND message_id IS NULL AND doomed IS NULL",
        id,
      )
      .toArray()[0];
    return row === undefined
      ? null
      : { id: row.id, name: row.name, size: row.size, type: row.type, from: { id: row.user_id, nick: row.nick } };
  }

  /** Sets the type an upload turned out to have (its first bytes tell). */
  setUploadType(id: string, type: string): void {
    this.#sql.exec("UPDATE files SET type = ? WHERE id = ?", type, id);
  }

  /** Marks a file's object for deletion (a failed or abandoned upload). */
  doomFile(id: string): void {
    this.#sql.exec("UPDATE files SET doomed = 1 WHERE id = ?", id);
  }

  /** Up to `limit` files whose objects are to be deleted from R2. */
  doomedFiles(limit: number): string[] {
    return this.#sql
      .exec<{ id: string }>("SELECT id FROM files WHERE doomed IS NOT NULL LIMIT ?", limit)
      .toArray()
      .map((r) => r.id);
  }

  /** Forgets files whose objects are deleted. */
  forgetFiles(ids: readonly string[]): void {
    for (const id of ids) this.#sql.exec("DELETE FROM files WHERE id = ?", id);
  }
}

/** How a reply quotes `text`, from its first QUOTE_READ characters (SQL
 * reads one more, to tell whether it goes on): cut with "…" when it goes
 * on, even where runs of spaces made that start shorter than a quote. The
 * work is the same for a text of 4,000 characters as for one of 600. */
function quoteOf(text: string): string {
  const chars = [...text.slice(0, 2 * (QUOTE_READ + 1))];
  const quote = quoteText(chars.slice(0, QUOTE_READ).join(""));
  return chars.length > QUOTE_READ && !quote.endsWith("…") ? `${quote}…` : quote;
}

/** Two newest-first sequences of entries as one, newest first. */
function* newestFirst(a: Iterable<LogEntry>, b: Iterable<LogEntry>): Generator<LogEntry> {
  const left = a[Symbol.iterator]();
  const right = b[Symbol.iterator]();
  let x = left.next();
  let y = right.next();
  while (!x.done || !y.done) {
    if (y.done || (!x.done && x.value.id > y.value.id)) {
      yield x.value;
      x = left.next();
    } else {
      yield y.value;
      y = right.next();
    }
  }
}

type BanSqlRow = {
  id: string;
  kind: "kick" | "ban";
  user_id: string;
  nick: string;
  address: string | null;
  by_id: string;
  by_nick: string;
  reason: string | null;
  until: number | null;
};

function banOf(row: BanSqlRow): BanRow {
  return {
    id: row.id,
    kind: row.kind,
    user: { id: row.user_id, nick: row.nick },
    address: row.address,
    by: { id: row.by_id, nick: row.by_nick },
    reason: row.reason,
    until: row.until,
  };
}
