/**
 * The conversation as data, as both clients hold it: the room's messages in
 * id order (the newest MAX_KEPT of them, with older pages added on demand),
 * and our own messages from the moment they are written until the room's
 * echo confirms them, or they fail (then they wait for a retry or a discard).
 * Views render it; the session (session.ts) keeps it up to date.
 */
import { REACTION_USERS_SHOWN, quoteText, type MessageFrame, type Quote } from "../shared/protocol";

/** One emoji's reactions on a message, as views show them. */
export interface Reaction {
  emoji: string;
  /** How many chose it. */
  count: number;
  /** The first of them, by user id: all of them, or REACTION_USERS_SHOWN of `count`. */
  users: string[];
  /** Whether we did. */
  mine: boolean;
}

/** A message's reactions, each emoji in the order it was first used. */
export function reactionsOf(message: MessageFrame, me: string | undefined): Reaction[] {
  return Object.entries(message.reactions ?? {}).map(([emoji, users]) => ({
    emoji,
    count: message.reactionCounts?.[emoji] ?? users.length,
    users,
    mine: (me !== undefined && users.includes(me)) || (message.yourReactions?.includes(emoji) ?? false),
  }));
}

/** A reaction added or taken back, as a `reacted` entry says. */
export interface ReactionChange {
  emoji: string;
  user: string;
  on: boolean;
  /** How many have the emoji after it, when the room said. */
  count?: number;
}

/**
 * `message` with a reaction added or taken back: the same message when that
 * changes nothing. Where the room names only the first REACTION_USERS_SHOWN
 * of an emoji's users, the count changes, and ours is kept in yourReactions.
 * The count the entry brings is set, not added to, so that an entry applied
 * to a message that already counts it (a resume brings messages as they
 * are now, then the entries after them; a newcomer's messages count entries
 * it never saw) ends at the same count as the room's: each emoji's last
 * entry sets its count, and names are never more than it.
 */
export function withReaction(message: MessageFrame, change: ReactionChange, me: string | undefined): MessageFrame {
  const { emoji, user, on } = change;
  const users = message.reactions?.[emoji] ?? [];
  const total = message.reactionCounts?.[emoji] ?? users.length;
  const listed = users.includes(user);
  const cut = total > users.length;
  let shown = users;
  if (on && !listed && !cut && users.length < REACTION_USERS_SHOWN) shown = [...users, user];
  else if (!on && listed) shown = users.filter((each) => each !== user);
  // An entry from before rooms counted: added to, unless it changes nothing.
  const already = on ? listed : !listed && !cut;
  const count = Math.max(shown.length, change.count ?? (already ? total : total + (on ? 1 : -1)));
  const yours = message.yourReactions ?? [];
  const mine = user === me && !on !== !yours.includes(emoji);
  if (shown === users && count === total && !mine) return message;
  const reactions = { ...message.reactions };
  const counts = { ...message.reactionCounts };
  if (count === 0) delete reactions[emoji];
  else reactions[emoji] = shown;
  if (count > shown.length) counts[emoji] = count;
  else delete counts[emoji];
  const next: MessageFrame = { ...message, reactions, reactionCounts: counts };
  if (Object.keys(reactions).length === 0) delete next.reactions;
  if (Object.keys(counts).length === 0) {
    // Every list is whole: ours is in them.
    delete next.reactionCounts;
    delete next.yourReactions;
  } else if (user === me)
    next.yourReactions = on
      ? [...yours.filter((each) => each !== emoji), emoji]
      : yours.filter((each) => each !== emoji);
  else next.yourReactions = yours;
  return next;
}

/** One of ours on its way: `failed` says why it did not go (null: still going). */
export interface OwnMessage {
  cid: string;
  text: string;
  action: boolean;
  /** The id of the message it answers. */
  replyTo?: number;
  failed: string | null;
}

/** A deleted message as the room keeps it: its place, sender, time and cid, no content. */
export function tombstone(message: MessageFrame): MessageFrame {
  const stone: MessageFrame = {
    type: "message",
    id: message.id,
    ts: message.ts,
    from: message.from,
    text: "",
    deleted: true,
  };
  if (message.cid !== undefined) stone.cid = message.cid;
  return stone;
}

/** The newest messages kept in memory; older ones can be asked for again. */
export const MAX_KEPT = 1_000;

export class MessageList {
  /** Confirmed messages, oldest first, ids strictly increasing. */
  readonly #messages: MessageFrame[] = [];
  /** Ours not yet confirmed, by cid, in sending order. */
  readonly #own = new Map<string, OwnMessage>();

  /** The room's messages held, oldest first. */
  get messages(): readonly MessageFrame[] {
    return this.#messages;
  }

  /** Ours on their way or failed, in sending order. */
  get own(): OwnMessage[] {
    return [...this.#own.values()];
  }

  get oldestId(): number | undefined {
    return this.#messages[0]?.id;
  }

  get newestId(): number | undefined {
    return this.#messages.at(-1)?.id;
  }

  get(id: number): MessageFrame | undefined {
    // Ids are increasing: a binary search, for a list of a thousand.
    let low = 0;
    let high = this.#messages.length - 1;
    while (low <= high) {
      const middle = (low + high) >> 1;
      const message = this.#messages[middle]!;
      if (message.id === id) return message;
      if (message.id < id) low = middle + 1;
      else high = middle - 1;
    }
    return undefined;
  }

  /** Newer messages from the room, oldest first; those we already hold are
   * skipped. An echo of one of ours (`me` sent it, with its cid) confirms it.
   * Returns what was added. */
  add(messages: readonly MessageFrame[], me: string | undefined): MessageFrame[] {
    const newest = this.newestId ?? 0;
    const added = messages.filter((message) => message.id > newest);
    for (const message of added) {
      this.#messages.push(message);
      // Ours only if it is from us: someone else may send the same cid.
      if (message.cid !== undefined && message.from.id === me) this.#own.delete(message.cid);
    }
    if (this.#messages.length > MAX_KEPT) this.#messages.splice(0, this.#messages.length - MAX_KEPT);
    return added;
  }

  /** An older page (the answer to a history request): the messages before the
   * oldest held. Returns what was added. */
  prepend(messages: readonly MessageFrame[]): MessageFrame[] {
    const oldest = this.oldestId ?? Number.POSITIVE_INFINITY;
    const added = messages.filter((message) => message.id < oldest);
    this.#messages.unshift(...added);
    return added;
  }

  /** A message deleted: it becomes a tombstone (its place, sender and time
   * stay; its text and file go). Returns the tombstone, when it is held. */
  delete(id: number): MessageFrame | undefined {
    this.#requote(id, (quote) => ({ id, from: quote.from, text: "", deleted: true }));
    const message = this.get(id);
    return message === undefined ? undefined : this.#replace(message, tombstone(message));
  }

  /** A message's sender changed its text: the message as it is now (and the
   * quotes of the replies to it), when the list holds it. */
  edit(id: number, text: string, ts: number, mentions?: string[]): MessageFrame | undefined {
    this.#requote(id, (quote) => ({ ...quote, text: quoteText(text) }));
    const message = this.get(id);
    if (message === undefined || message.deleted) return undefined;
    const next: MessageFrame = { ...message, text, edited: ts };
    if (mentions === undefined) delete next.mentions;
    else next.mentions = mentions;
    return this.#replace(message, next);
  }

  /** Someone's reaction added or taken back (withReaction): the message as
   * it is now, when the list holds it. Applying the same entry twice
   * changes nothing the second time. */
  react(id: number, change: ReactionChange, me: string | undefined): MessageFrame | undefined {
    const message = this.get(id);
    if (message === undefined || message.deleted) return undefined;
    const next = withReaction(message, change, me);
    return next === message ? message : this.#replace(message, next);
  }

  /** The replies held to message `id` quote it anew (unless it is deleted). */
  #requote(id: number, quote: (old: Quote) => Quote): void {
    for (const [index, reply] of this.#messages.entries()) {
      if (reply.replyTo?.id === id && reply.replyTo.deleted !== true)
        this.#messages[index] = { ...reply, replyTo: quote(reply.replyTo) };
    }
  }

  /** Puts `next` in `message`'s place; returns it. */
  #replace(message: MessageFrame, next: MessageFrame): MessageFrame {
    this.#messages[this.#messages.indexOf(message)] = next;
    return next;
  }

  /** The messages held that answer message `id`. */
  repliesTo(id: number): MessageFrame[] {
    return this.#messages.filter((message) => message.replyTo?.id === id);
  }

  /** The history cleared: every message before the `cleared` entry goes. */
  clear(before: number): void {
    const kept = this.#messages.filter((message) => message.id > before);
    this.#messages.splice(0, this.#messages.length, ...kept);
  }

  /** The newest message held that `me` sent and is not deleted (with
   * `withText`, not a file's either: one that can be edited). */
  lastFrom(me: string, { withText = false } = {}): MessageFrame | undefined {
    return this.#messages.findLast(
      (message) => message.from.id === me && message.deleted !== true && (!withText || message.file === undefined),
    );
  }

  /** A resume that skipped messages: what is held no longer joins up with
   * what comes next, so the list starts again (our own stay). */
  restart(): void {
    this.#messages.length = 0;
  }

  /** One of ours, just written. */
  write(cid: string, text: string, action: boolean, replyTo?: number): OwnMessage {
    const own: OwnMessage = { cid, text, action, failed: null };
    if (replyTo !== undefined) own.replyTo = replyTo;
    this.#own.set(cid, own);
    return own;
  }

  ownMessage(cid: string): OwnMessage | undefined {
    return this.#own.get(cid);
  }

  /** One of ours did not go: it stays, marked, for a retry or a discard. */
  fail(cid: string, why: string): OwnMessage | undefined {
    const own = this.#own.get(cid);
    if (own !== undefined) own.failed = why;
    return own;
  }

  /** A failed one of ours, going again: to the end of the line. */
  retry(cid: string): OwnMessage | undefined {
    const own = this.#own.get(cid);
    if (own?.failed == null) return undefined;
    this.#own.delete(cid);
    this.#own.set(cid, own);
    own.failed = null;
    return own;
  }

  /** Forgets a failed one of ours. */
  discard(cid: string): boolean {
    return this.#own.get(cid)?.failed != null && this.#own.delete(cid);
  }
}
