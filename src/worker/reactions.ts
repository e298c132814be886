/**
 * The room's reactions in SQLite: who chose which emoji on which message
 * (`reactions`, with the nickname they had), and how many chose each
 * (`reaction_counts`), kept in step in write()'s transaction.
 *
 * A message carries at most REACTION_USERS_SHOWN users per emoji and the
 * count of the rest, so that it stays a few KiB whatever the crowd: a
 * thousand people reacting to one message once made a history entry of
 * over 1 MiB. The counts make every question cheap: `react` asks three
 * lookups by key, a page of messages reads what it shows, and the full
 * list comes a page at a time (`reactions` requests).
 */
import { REACTION_USERS_SHOWN, type MessageFrame, type ReactedFrame, type User } from "../shared/protocol";

/** What `react` needs to know about one emoji on one message. */
export interface ReactionState {
  /** Whether this user has it on. */
  mine: boolean;
  /** How many have it on. */
  count: number;
  /** How many different emoji the message has. */
  kinds: number;
}

export class ReactionStore {
  readonly #sql: SqlStorage;

  constructor(sql: SqlStorage) {
    this.#sql = sql;
  }

  state(message: number, emoji: string, user: string): ReactionState {
    const mine =
      this.#sql
        .exec("SELECT 1 FROM reactions WHERE message = ? AND emoji = ? AND user_id = ?", message, emoji, user)
        .toArray().length > 0;
    const count =
      this.#sql
        .exec<{ count: number }>("SELECT count FROM reaction_counts WHERE message = ? AND emoji = ?", message, emoji)
        .toArray()[0]?.count ?? 0;
    const kinds = this.#sql
      .exec<{ kinds: number }>("SELECT count(*) AS kinds FROM reaction_counts WHERE message = ?", message)
      .one().kinds;
    return { mine, count, kinds };
  }

  /** Stores a `reacted` entry's change (in write()'s transaction). */
  apply(entry: ReactedFrame): void {
    const { target, emoji, user } = entry;
    if (entry.on) {
      const added = this.#sql.exec(
        "INSERT OR IGNORE INTO reactions (message, emoji, user_id, at, nick) VALUES (?, ?, ?, ?, ?)",
        target,
        emoji,
        user.id,
        entry.id,
        user.nick,
      ).rowsWritten;
      if (added > 0)
        this.#sql.exec(
          `INSERT INTO reaction_counts (message, emoji, count, first_at) VALUES (?, ?, 1, ?)
           ON CONFLICT (message, emoji) DO UPDATE SET count = count + 1`,
          target,
          emoji,
          entry.id,
        );
      return;
    }
    const removed = this.#sql
      .exec<{ at: number }>(
        "DELETE FROM reactions WHERE message = ? AND emoji = ? AND user_id = ? RETURNING at",
        target,
        emoji,
        user.id,
      )
      .toArray()[0];
    if (removed === undefined) return;
    this.#sql.exec("UPDATE reaction_counts SET count = count - 1 WHERE message = ? AND emoji = ?", target, emoji);
    this.#sql.exec("DELETE FROM reaction_counts WHERE message = ? AND emoji = ? AND count <= 0", target, emoji);
    // An emoji keeps its place among the message's by its oldest reaction still there.
    this.#sql.exec(
      `UPDATE reaction_counts SET first_at = (SELECT min(at) FROM reactions WHERE message = ?1 AND emoji = ?2)
       WHERE message = ?1 AND emoji = ?2 AND first_at = ?3`,
      target,
      emoji,
      removed.at,
    );
  }

  /** A deleted message takes its reactions with it. */
  removeMessage(message: number): void {
    this.#sql.exec("DELETE FROM reactions WHERE message = ?", message);
    this.#sql.exec("DELETE FROM reaction_counts WHERE message = ?", message);
  }

  /** Retention (up to `id`, inclusive) and clears (`before` a clear's id). */
  dropUpTo(id: number): void {
    this.#sql.exec("DELETE FROM reactions WHERE message <= ?", id);
    this.#sql.exec("DELETE FROM reaction_counts WHERE message <= ?", id);
  }

  /**
   * Puts their reactions on `messages` (by id): per emoji, in the order it
   * was first used, the first REACTION_USERS_SHOWN users, and where there
   * are more, their count, and which emoji `you` (the reader, when there is
   * one) chose. What is read is what is shown: a list's users come from an
   * index in order, never from every row of a crowded message.
   */
  attach(messages: ReadonlyMap<number, MessageFrame>, you: string | null): void {
    if (messages.size === 0) return;
    const ids = JSON.stringify([...messages.keys()]);
    const crowded: { message: MessageFrame; emoji: string; count: number }[] = [];
    const counts = this.#sql.exec<{ message: number; emoji: string; count: number }>(
      `SELECT message, emoji, count FROM reaction_counts WHERE message IN (SELECT value FROM json_each(?))
       ORDER BY message, first_at`,
      ids,
    );
    for (const { message: id, emoji, count } of counts) {
      const message = messages.get(id)!;
      message.reactions ??= {};
      message.reactions[emoji] = [];
      if (count > REACTION_USERS_SHOWN) crowded.push({ message, emoji, count });
    }
    // Every user of the emoji that show all of them, in one read…
    const few = this.#sql.exec<{ message: number; emoji: string; user_id: string }>(
      `SELECT r.message, r.emoji, r.user_id FROM reaction_counts c
         JOIN reactions r ON r.message = c.message AND r.emoji = c.emoji
       WHERE c.message IN (SELECT value FROM json_each(?)) AND c.count <= ? ORDER BY r.message, r.emoji, r.at`,
      ids,
      REACTION_USERS_SHOWN,
    );
    for (const { message, emoji, user_id } of few) messages.get(message)!.reactions![emoji]!.push(user_id);
    // …and the first of each crowded one, with the count.
    for (const { message, emoji, count } of crowded) {
      message.reactions![emoji] = this.#users(message.id, emoji, 0, REACTION_USERS_SHOWN).map((user) => user.id);
      message.reactionCounts ??= {};
      message.reactionCounts[emoji] = count;
      message.yourReactions ??= [];
    }
    if (crowded.length === 0 || you === null) return;
    const crowdedIds = JSON.stringify([...new Set(crowded.map(({ message }) => message.id))]);
    const mine = this.#sql.exec<{ message: number; emoji: string }>(
      "SELECT message, emoji FROM reactions WHERE user_id = ? AND message IN (SELECT value FROM json_each(?))",
      you,
      crowdedIds,
    );
    for (const { message, emoji } of mine) {
      const frame = messages.get(message)!;
      frame.yourReactions?.push(emoji);
    }
    // In the order of the message's emoji.
    for (const { message } of crowded) {
      const order = Object.keys(message.reactions!);
      message.yourReactions?.sort((a, b) => order.indexOf(a) - order.indexOf(b));
    }
  }

  /** Who chose `emoji` on `message`, first first: `limit` from `offset`,
   * and how many in all. */
  page(message: number, emoji: string, offset: number, limit: number): { count: number; users: User[] } {
    const count =
      this.#sql
        .exec<{ count: number }>("SELECT count FROM reaction_counts WHERE message = ? AND emoji = ?", message, emoji)
        .toArray()[0]?.count ?? 0;
    return { count, users: offset >= count ? [] : this.#users(message, emoji, offset, limit) };
  }

  #users(message: number, emoji: string, offset: number, limit: number): User[] {
    return this.#sql
      .exec<{ user_id: string; nick: string | null }>(
        "SELECT user_id, nick FROM reactions WHERE message = ? AND emoji = ? ORDER BY at LIMIT ? OFFSET ?",
        message,
        emoji,
        limit,
        offset,
      )
      .toArray()
      .map((row) => ({ id: row.user_id, nick: row.nick ?? "" }));
  }
}
