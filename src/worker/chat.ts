/**
 * The room's history, one feature module of the room, and the one owner of
 * "stored before anyone sees it". The history is an ordered log: messages,
 * and everything that changes them (deletions, clears), each with the next
 * id. An entry is queued for everyone when it arrives (which fixes who gets
 * it, and in what order) and stored with the rest of the turn just before
 * the flush sends it (Connections calls write() first); the output gate then
 * holds the sends until the write is durable. Every read of the history goes
 * through here and writes first, so a reader never misses or doubles a
 * queued entry.
 */
import { mentionedIn } from "../shared/mentions";
import {
  isStaff,
  MAX_REACTIONS,
  REACTION_USERS_PAGE,
  SEARCH_PAGE,
  type HistoryFrame,
  type ResultsFrame,
  type SearchFrame,
  type LogEntry,
  type MessageFrame,
  type ReactFrame,
  type ReactionsFrame,
  type ReactionsRequestFrame,
  type SendFrame,
  type User,
} from "../shared/protocol";
import { log } from "./log";
import type { Moderation } from "./moderation";
import type { RoomParts } from "./room-parts";
import { WriteFailed, type History, type StoredMessage } from "./storage";

/** What the sender of an entry that could not be stored is told. */
const NOT_STORED: Record<LogEntry["type"], string> = {
  message: "Something went wrong on the server and your message was not sent; please retry.",
  edited: "Something went wrong on the server and the message was not changed; please retry.",
  reacted: "Something went wrong on the server and your reaction was not saved; please retry.",
  deleted: "Something went wrong on the server and the message was not deleted; please retry.",
  cleared: "Something went wrong on the server and the history was not cleared; please retry.",
};

export class Chat {
  readonly #room: RoomParts;
  /** Who may delete what, and the moderation log. */
  readonly #moderation: Moderation;
  /** Called when a write marked files for deletion (retention, a deletion, a clear). */
  readonly #filesDropped: () => void;
  /** This turn's entries, queued for everyone but not yet stored, with who
   * sent each (null: the room itself, for a shared file). */
  #unwritten: { payload: string; sender: WebSocket | null; cid: string | undefined; type: LogEntry["type"] }[] = [];

  constructor(room: RoomParts, moderation: Moderation, filesDropped: () => void) {
    this.#room = room;
    this.#moderation = moderation;
    this.#filesDropped = filesDropped;
  }

  /** A member's message (maybe a reply, quoting the message it answers): an
   * id, and queued for everyone with the turn. */
  say(ws: WebSocket, from: User, frame: SendFrame, now: number): void {
    const { store } = this.#room;
    const quote = frame.replyTo === undefined ? undefined : store.quote(frame.replyTo);
    if (quote === null) {
      const why = `There is no message ${frame.replyTo} to reply to: it was never sent, is deleted, or is too old.`;
      return this.#room.refuse(ws, "not_found", why, frame.cid);
    }
    this.#queue(store.appendMessage(from, frame, now, quote, this.#mentions(frame.text)), ws, frame.cid);
  }

  /** Who `text` names as "@nick" among the people here now (mentions.ts). */
  #mentions(text: string): string[] {
    // The common case costs one scan of the text: no "@", no roster.
    return text.includes("@") ? mentionedIn(text, this.#room.sockets.users) : [];
  }

  /**
   * `react`: one's reaction (an emoji) added to a message or taken back. It
   * is an entry of the log when it changes something; asking for what is
   * already so changes nothing and gets no answer. At most MAX_REACTIONS
   * different emoji on a message (`too_many_reactions`).
   */
  react(ws: WebSocket, user: User, { id, emoji, on }: ReactFrame, now: number): void {
    const message = this.#existing(ws, id, "react to");
    if (message === null) return;
    const { mine, count, kinds } = this.#room.store.reactionState(id, emoji, user.id);
    if (mine === on) return;
    if (on && count === 0 && kinds >= MAX_REACTIONS) {
      const why = `A message can have at most ${MAX_REACTIONS} different reactions: add one of those already there.`;
      return this.#room.refuse(ws, "too_many_reactions", why);
    }
    this.#queue(this.#room.store.appendReaction(id, user, emoji, on, now, on ? count + 1 : count - 1), ws);
  }

  /** `reactions`: who chose an emoji on a message, a page at a time (a
   * message names at most REACTION_USERS_SHOWN of them). */
  reactors(ws: WebSocket, { id, emoji, offset = 0 }: ReactionsRequestFrame): number {
    if (this.#existing(ws, id, "list the reactions of") === null) return 0;
    const { count, users } = this.#room.store.reactors(id, emoji, offset, REACTION_USERS_PAGE);
    const answer: ReactionsFrame = { type: "reactions", id, emoji, count, offset, users };
    if (offset + users.length >= count) answer.complete = true;
    return this.#room.sockets.send(ws, answer);
  }

  /**
   * `delete`: a message becomes a tombstone for everyone, now (the `deleted`
   * entry), on a resume (the entry again) and for newcomers (the tombstone);
   * its file's object is deleted from R2. Anyone may delete their own
   * message; moderators anyone's below them (moderation.ts).
   */
  delete(ws: WebSocket, by: User, target: number, now: number): void {
    const message = this.#existing(ws, target, "delete");
    if (message === null || !this.#moderation.mayDelete(ws, by, message, now)) return;
    // A member's deletion counts against the room's budget; staff's (spam
    // going) are never held back.
    const busy = isStaff(by) ? null : this.#room.busyEditing(now);
    if (busy !== null) return this.#room.refuse(ws, "rate_limited", busy);
    log("delete", { room: this.#room.logName, message: target, by: by.id, own: message.from.id === by.id });
    this.#queue(this.#room.store.appendDeletion(target, by, now), ws);
  }

  /**
   * `edit`: the sender of a message changes its text. Everyone gets the
   * `edited` entry now (and on a resume); newcomers and scroll-back get the
   * message as it is now, with `edited`; replies quote the new text.
   */
  edit(ws: WebSocket, by: User, target: number, text: string, now: number): void {
    const message = this.#existing(ws, target, "edit");
    if (message === null) return;
    if (message.from.id !== by.id) return this.#room.refuse(ws, "forbidden", "You can only edit your own messages.");
    if (message.file)
      return this.#room.refuse(ws, "forbidden", "A shared file has no text to edit: delete it and share it again.");
    const busy = this.#room.busyEditing(now);
    if (busy !== null) return this.#room.refuse(ws, "rate_limited", busy);
    log("edit", { room: this.#room.logName, message: target, by: by.id });
    this.#queue(this.#room.store.appendEdit(target, by, text, now, this.#mentions(text)), ws);
  }

  /** The message a `delete`, `edit` or `react` is about, or null (refused, said why:
   * `not_found`). What this turn queued is stored first: a message can be
   * acted on the moment it was seen. */
  #existing(
    ws: WebSocket,
    target: number,
    what: "delete" | "edit" | "react to" | "list the reactions of",
  ): StoredMessage | null {
    if (!this.write()) return null;
    const message = this.#room.store.message(target);
    if (message !== null && !message.deleted) return message;
    const why = message === null ? "it was never sent, or is too old" : "it is deleted";
    this.#room.refuse(ws, "not_found", `There is no message ${target} to ${what}: ${why}.`);
    return null;
  }

  /** A new entry of the log, queued for everyone with the turn (stored by write()). */
  #queue(entry: LogEntry, sender: WebSocket | null, cid?: string): void {
    this.#unwritten.push({ payload: this.#room.sockets.broadcast(entry), sender, cid, type: entry.type });
  }

  /** `clear`: the owner deletes every entry of the log and every file; a `cleared` entry says so. */
  clear(ws: WebSocket, by: User, now: number): void {
    if (!this.#moderation.mayClear(ws, by, now)) return;
    const entry = this.#room.store.appendClear(by, now);
    log("clear", { room: this.#room.logName, by: by.id, log: entry.id });
    this.#queue(entry, ws);
  }

  /** A message the room made (a shared file's), stored at once: false when
   * the write failed and nobody got it. */
  publish(message: MessageFrame): boolean {
    this.#queue(message, null);
    return this.write();
  }

  /**
   * Stores the turn's entries in one transaction: before every flush, and
   * before anything reads the history. If the write fails, no one gets those
   * entries and each sender gets `internal` for theirs.
   */
  write(): boolean {
    if (this.#unwritten.length === 0) return true;
    const batch = this.#unwritten;
    this.#unwritten = [];
    try {
      if (this.#room.store.write().filesDoomed) this.#filesDropped();
      return true;
    } catch (error) {
      if (!(error instanceof WriteFailed)) throw error;
      log("internal_error", { room: this.#room.logName, error: String(error.cause), entries: error.entries.length });
      this.#room.sockets.retract(new Set(batch.map((m) => m.payload)));
      // A file's uploader (sender null) hears it in the answer to the upload.
      for (const { sender, cid, type } of batch)
        if (sender !== null) this.#room.refuse(sender, "internal", NOT_STORED[type], cid);
      return false;
    }
  }

  /** What `you` get on joining: the newest messages, or, on a resume, the
   * log after `since`, in at most what the room's budget for reads holds
   * now (read-queue.ts). */
  historyOnJoin(since: number | undefined, you: User): History {
    this.write();
    const { config, store, reads } = this.#room;
    const bytes = reads.allowance(config.historyMaxBytes);
    if (since === undefined)
      return { entries: store.recentMessages(config.historyOnJoin, you.id, bytes), truncated: false };
    return store.entriesAfter(since, config.historyOnResume, you.id, bytes);
  }

  /** The answer to `search`: a page of matching messages, newest first. */
  search({ query, before }: SearchFrame, you: User): ResultsFrame {
    this.write();
    const found = this.#room.store.search(query, before ?? Number.MAX_SAFE_INTEGER, SEARCH_PAGE, you.id);
    const answer: ResultsFrame = { type: "results", query, messages: found.messages };
    if (before !== undefined) answer.before = before;
    if (found.complete) answer.complete = true;
    return answer;
  }

  /** A page of older messages, the answer to a `history` frame. */
  page(before: number, you: User): HistoryFrame {
    this.write();
    const { messages, complete } = this.#room.store.messagesBefore(before, this.#room.config.historyPage, you.id);
    const answer: HistoryFrame = { type: "history", before, messages };
    if (complete) answer.complete = true;
    return answer;
  }
}
