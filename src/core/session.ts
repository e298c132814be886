/**
 * One person in one room, as both clients (the page and the terminal) hold
 * it: the connection (connection.ts), who we are, the outbox and its
 * confirmations (outbox.ts), the roster and who is typing (presence.ts), the
 * call's members (call-members.ts) and the conversation (messages.ts).
 *
 * Frames from the room come in here and go out as events a view renders;
 * what the user does comes in as calls and goes out as frames. The rules
 * live here once: what confirms an own message or rename, what a refusal is
 * about, what a resume whose history was cut short means for what was in
 * flight, when typing notices go out. A view holds only its screen.
 */
import {
  DEFAULT_SETTINGS,
  parseNick,
  type BansFrame,
  type CallNoticeFrame,
  type ClearedFrame,
  type DeletedFrame,
  type EditedFrame,
  type ClientFrame,
  type ErrorFrame,
  type HistoryFrame,
  type KickedFrame,
  type ReactedFrame,
  type ResultsFrame,
  type LogEntry,
  type ModlogEntry,
  type ModlogFrame,
  type MessageFrame,
  type Removal,
  type RoomLimits,
  type RoomSettings,
  type ServerFrame,
  type SignalNoticeFrame,
  type User,
  type WelcomeFrame,
} from "../shared/protocol";
import { CallMembers } from "./call-members";
import { ChatConnection, type Status, type StatusDetail } from "./connection";
import { MessageList, reactionsOf, type OwnMessage, type ReactionChange } from "./messages";
import { Outbox, type Outgoing } from "./outbox";
import { Roster, TypingSender, Typists } from "./presence";

/** A line in the flow of the conversation that is not a message. */
export type Notice =
  | { kind: "joined"; user: User }
  /** `kicked`: a moderator removed them (a kick, or a ban with `until`). */
  | { kind: "left"; user: User; kicked?: Removal }
  | { kind: "renamed"; user: User; from: string; you: boolean }
  /** `user` carries the new role (none: a member again); `you`: it is ours. */
  | { kind: "role"; user: User; by: User; you: boolean }
  | { kind: "call"; user: User; joined: boolean; you: boolean };

/** We are in: the first time, or back after a reconnect. */
export interface Welcome {
  frame: WelcomeFrame;
  first: boolean;
  /** The welcome's messages added to the list, oldest first: on the first
   * welcome the past, before we came; on a resume what we missed while away
   * (ours included). */
  history: MessageFrame[];
  /** Our messages and renames written before the drop that the room can no
   * longer confirm (its history was cut short): they may or may not have
   * arrived. Their messages are marked failed in the list. */
  lost: Outgoing[];
}

/**
 * What a view hears. Every handler is optional: a view renders what it
 * shows. They are called after the session's own state has followed the
 * frame (the roster, the outbox, the message list are already up to date).
 */
export interface SessionEvents {
  /** Every frame from the room as it came (messages already seen left out). */
  frame(frame: ServerFrame): void;
  status(status: Status, detail: StatusDetail): void;
  welcome(welcome: Welcome): void;
  /** New messages as they are written, oldest first. */
  messages(messages: MessageFrame[]): void;
  /** A page of older messages, the answer to requestHistory. */
  older(page: HistoryFrame): void;
  /** A message was edited; `message` is it as it is now, when the list holds it. */
  edited(frame: EditedFrame, message: MessageFrame | undefined): void;
  /** Someone reacted or took a reaction back; `message` is it as it is now, when the list holds it. */
  reacted(frame: ReactedFrame, message: MessageFrame | undefined): void;
  /** The answer to search(). */
  results(frame: ResultsFrame): void;
  /** A message was deleted; `message` is its tombstone when the list holds it. */
  deleted(frame: DeletedFrame, message: MessageFrame | undefined): void;
  /** The owner cleared the history: the list is empty of what came before. */
  cleared(frame: ClearedFrame): void;
  notice(notice: Notice): void;
  /** Who is here changed (the roster, a name, someone's call state). */
  roster(): void;
  /** Who is typing changed (`typists.line`). */
  typing(): void;
  /** The call's members changed (already applied to `callMembers`). */
  call(frame: CallNoticeFrame): void;
  signal(frame: SignalNoticeFrame): void;
  /** A moderator removed us: the room closes the socket next (no reconnect). */
  kicked(frame: KickedFrame): void;
  /** The bans in force (the answer to `bans` or `unban`). */
  bans(frame: BansFrame): void;
  /** The moderation log (the answer to `modlog`). */
  modlog(frame: ModlogFrame): void;
  /** The new owner key, after we replaced it (shown this once). */
  rotated(ownerKey: string): void;
  /** The room's settings changed (`session.settings` has them); `by`: who changed them. */
  settings(changed: (keyof RoomSettings)[], by: User): void;
  /** One of ours was refused, by the room or (too long, say) before it was
   * written. A message stays in the list, failed, for a retry or a discard. */
  refused(item: Outgoing, reason: string): void;
  /** A refusal about nothing in the outbox (a page of history, the call). */
  error(frame: ErrorFrame): void;
  /** The join was refused (a taken or invalid nickname, a full room): join again. */
  joinRefused(frame: ErrorFrame): void;
}

/** Why a message of ours failed when a resume could not confirm it. */
const LOST = "Not confirmed: the connection dropped; it may have arrived.";

export class RoomSession {
  readonly #on: Partial<SessionEvents>;
  readonly #connection: ChatConnection;
  readonly #outbox: Outbox;
  readonly #typing: TypingSender;
  readonly roster = new Roster();
  readonly typists: Typists;
  readonly callMembers = new CallMembers();
  readonly messages = new MessageList();
  #me: User | null = null;
  #limits: RoomLimits | null = null;
  #settings: RoomSettings = { ...DEFAULT_SETTINGS };

  constructor(socketUrl: string, events: Partial<SessionEvents>) {
    this.#on = events;
    this.#connection = new ChatConnection(socketUrl, {
      frame: (frame) => this.#receive(frame),
      status: (status, detail = {}) => this.#status(status, detail),
    });
    const send = (frame: ClientFrame): boolean => this.#connection.send(frame);
    this.#outbox = new Outbox(send, (item, reason) => {
      this.#refused(item, reason);
      // What was written after it goes on (unless the view dropped it).
      queueMicrotask(() => this.#outbox.pump());
    });
    this.#typing = new TypingSender(send);
    this.typists = new Typists(() => this.#on.typing?.());
  }

  /** Ourselves, from the last welcome and renames since (null before the first). */
  get me(): User | null {
    return this.#me;
  }

  /** The room's limits from its welcome (null before the first). */
  get limits(): RoomLimits | null {
    return this.#limits;
  }

  /** The room's settings: topic, locked, slow mode, files, calls. */
  get settings(): RoomSettings {
    return this.#settings;
  }

  /** True between a welcome and the next close. */
  get joined(): boolean {
    return this.#connection.joined;
  }

  /** The session token of the last welcome: it authorises uploads. */
  get token(): string | undefined {
    return this.#connection.session;
  }

  /** Messages and renames written and not yet confirmed. */
  get unconfirmed(): number {
    return this.#outbox.size;
  }

  // --- what the user does ---------------------------------------------------

  /** Joins as `nick` (as the owner, with the room's owner key): the first
   * time, or again after a refused join. */
  join(nick: string, ownerKey?: string): void {
    this.#connection.join(nick, ownerKey);
  }

  /** A message (answering message `replyTo`, when given), shown at once
   * (the list's own messages) and sent as soon as the room can take it. Returns it as the list holds it: already failed
   * when it is refused before it goes (the `refused` event came first). */
  say(text: string, action: boolean, replyTo?: number): OwnMessage {
    const own = this.messages.write(this.#outbox.newCid(), text, action, replyTo);
    this.#outbox.message(text, action, own.cid, replyTo);
    this.#typing.lineSent();
    return own;
  }

  /** A rename, in order with the messages around it. Returns why not, if not. */
  rename(nick: string): string | null {
    const parsed = parseNick(nick, this.#limits?.nickLength ?? Number.MAX_SAFE_INTEGER);
    if (!parsed.ok) return parsed.message;
    this.#outbox.rename(parsed.nick);
    this.#typing.lineSent();
    return null;
  }

  // Moderation goes through the outbox: in order with what was written
  // before it, paced with it, held while the room is away, and checked with
  // the room's own parser (a refusal is a `refused` event). The room answers
  // with a notice to everyone, or an error.

  /** The owner makes someone a moderator, or a member again (by user id). */
  setRole(user: string, role: "moderator" | "member"): void {
    this.#outbox.command({ type: "role", user, role });
  }

  /** A moderator removes someone (by user id). */
  kick(user: string, reason?: string): void {
    this.#outbox.command(reason === undefined ? { type: "kick", user } : { type: "kick", user, reason });
  }

  /** A kick that keeps them out for `minutes` (undefined: for good). */
  ban(user: string, minutes?: number, reason?: string): void {
    const frame: ClientFrame = { type: "ban", user };
    if (minutes !== undefined) frame.minutes = minutes;
    if (reason !== undefined) frame.reason = reason;
    this.#outbox.command(frame);
  }

  /** `/mod NICK`, `/unmod NICK`: setRole by nickname (as typed: case does not matter). */
  setRoleByNick(nick: string, role: "moderator" | "member"): string | null {
    const wanted = nick.trim().toLowerCase();
    const user = this.roster.sorted().find((each) => each.nick.toLowerCase() === wanted);
    if (user === undefined) return `Nobody called "${nick.trim()}" is in the room.`;
    this.setRole(user.id, role);
    return null;
  }

  /**
   * `/kick` and `/ban`: `words` is a nickname (the longest one here that it
   * starts with, any case), then for a ban an optional number of minutes,
   * then an optional reason. Returns why not, if not.
   */
  remove(kind: "kick" | "ban", words: string): string | null {
    const found = this.#findByNickPrefix(words);
    if (found === null) return `Nobody here has the name that "${words.trim()}" starts with.`;
    let rest = found.rest;
    let minutes: number | undefined;
    const number = /^(\d+)(?:\s+|$)/.exec(rest);
    if (kind === "ban" && number !== null) {
      minutes = Number(number[1]);
      rest = rest.slice(number[0].length);
    }
    const reason = rest === "" ? undefined : rest;
    if (kind === "kick") this.kick(found.user.id, reason);
    else this.ban(found.user.id, minutes, reason);
    return null;
  }

  /** A moderator changes some of the room's settings. */
  changeSettings(changes: Partial<RoomSettings>): void {
    this.#outbox.command({ type: "settings", ...changes });
  }

  /** Deletes a message (ours, or as a moderator anyone's below us): the
   * `deleted` event follows, or an error. */
  deleteMessage(id: number): void {
    this.#outbox.command({ type: "delete", id });
  }

  /** `/delete` without an id: our newest message still here. Returns why not, if not. */
  deleteLast(): string | null {
    const last = this.#me === null ? undefined : this.messages.lastFrom(this.#me.id);
    if (last === undefined) return "You have no message here to delete.";
    this.deleteMessage(last.id);
    return null;
  }

  /** Changes the text of one of our messages: the `edited` event follows, or an error. */
  editMessage(id: number, text: string): void {
    this.#outbox.command({ type: "edit", id, text });
  }

  /** `/edit new text`: our newest message still here. Returns why not, if not. */
  editLast(text: string): string | null {
    const last = this.#me === null ? undefined : this.messages.lastFrom(this.#me.id, { withText: true });
    if (last === undefined) return "You have no message here to edit.";
    this.editMessage(last.id, text);
    return null;
  }

  /** Adds our reaction to a message, or takes it back: the `reacted` event follows, or an error. */
  react(id: number, emoji: string, on: boolean): void {
    this.#outbox.command({ type: "react", id, emoji, on });
  }

  /** Our reaction with `emoji` on message `id`, added, or taken back when
   * we have already given it (as far as the list knows). */
  toggleReaction(id: number, emoji: string): void {
    const message = this.messages.get(id);
    const mine = message !== undefined && reactionsOf(message, this.#me?.id).some((r) => r.emoji === emoji && r.mine);
    this.react(id, emoji, !mine);
  }

  /** `/react 👍`: toggleReaction on the newest message here (not a deleted
   * one). Returns why not, if not. */
  reactLast(emoji: string): string | null {
    const last = this.messages.messages.findLast((message) => message.deleted !== true);
    if (last === undefined) return "There is no message here to react to.";
    this.toggleReaction(last.id, emoji);
    return null;
  }

  /** Searches the room's messages (the `results` event answers): the newest
   * matches, or those before message `before`. False when not connected. */
  search(query: string, before?: number): boolean {
    if (!this.#connection.joined) return false;
    this.#outbox.spend();
    return this.#connection.send(before === undefined ? { type: "search", query } : { type: "search", query, before });
  }

  /** Whether `message` names us (`@nick`, as the room stamped it). */
  mentionsMe(message: MessageFrame): boolean {
    return this.#me !== null && message.mentions?.includes(this.#me.id) === true;
  }

  /** The owner deletes the whole history and every file. */
  clearHistory(): void {
    this.#outbox.command({ type: "clear" });
  }

  /** The owner replaces the owner key (the `rotated` event brings the new one). */
  rotateOwnerKey(): void {
    this.#outbox.command({ type: "rotate" });
  }

  /** Asks for the moderation log (the `modlog` event answers). */
  modlogRequest(): void {
    this.#outbox.command({ type: "modlog" });
  }

  /** Asks for the bans in force (the `bans` event answers), or lifts one by its id. */
  bansRequest(unban?: string): void {
    this.#outbox.command(unban === undefined ? { type: "bans" } : { type: "unban", ban: unban });
  }

  /** The person here whose nickname `words` starts with (the longest such
   * nickname, ignoring case), and what follows it. */
  #findByNickPrefix(words: string): { user: User; rest: string } | null {
    const text = words.trim();
    const lower = text.toLowerCase();
    let best: User | null = null;
    for (const user of this.roster.sorted()) {
      const nick = user.nick.toLowerCase();
      const fits = lower === nick || (lower.startsWith(nick) && /\s/.test(text.charAt(nick.length)));
      if (fits && (best === null || user.nick.length > best.nick.length)) best = user;
    }
    return best === null ? null : { user: best, rest: text.slice(best.nick.length).trim() };
  }

  /** A failed message, sent again (to the end of the queue). */
  retry(cid: string): boolean {
    const own = this.messages.retry(cid);
    if (own === undefined) return false;
    this.#outbox.message(own.text, own.action, cid, own.replyTo);
    return true;
  }

  /** A failed message, forgotten. */
  discard(cid: string): boolean {
    return this.messages.discard(cid);
  }

  /** The line being typed changed: a typing notice, when one is due. */
  typed(line: string): void {
    if (this.#connection.joined) this.#typing.typed(line, this.#limits?.typingIntervalMs);
  }

  /** Asks for the messages before `before`; false when not connected. Paid
   * for from the outbox's pace, so that what it sends next is not refused. */
  requestHistory(before: number): boolean {
    if (!this.#connection.joined) return false;
    this.#outbox.spend();
    return this.#connection.send({ type: "history", before });
  }

  /** A call or signal frame (the call's own traffic, outside the outbox). */
  sendCall(frame: Extract<ClientFrame, { type: "call" | "signal" }>): boolean {
    return this.#connection.send(frame);
  }

  /** Forgets what is queued and not yet written (a pipe that stops at a refusal). */
  dropUnsent(): void {
    this.#outbox.dropUnsent();
  }

  /** Skips the rest of a reconnect's backoff. */
  retryNow(): void {
    this.#connection.retryNow();
  }

  /** Leaves for good: the outbox stops, the socket closes properly. */
  close(code = 1000, reason = "bye"): Promise<void> {
    this.#outbox.stop();
    return this.#connection.close(code, reason);
  }

  // --- from the room ------------------------------------------------------

  #receive(frame: ServerFrame): void {
    this.#on.frame?.(frame);
    const me = frame.type === "welcome" ? frame.you.id : this.#me?.id;
    this.typists.apply(frame, me);
    const rosterChanged = this.roster.apply(frame);
    const callChange = this.callMembers.apply(frame);
    switch (frame.type) {
      case "welcome":
        this.#welcome(frame);
        break;
      case "message":
        if (this.#add([frame]).length > 0) this.#on.messages?.([frame]);
        break;
      case "edited":
      case "reacted":
      case "deleted":
      case "cleared":
        this.#change(frame);
        break;
      case "results":
        this.#on.results?.(frame);
        break;
      case "history":
        this.messages.prepend(frame.messages);
        this.#on.older?.(frame);
        break;
      case "joined":
        this.#on.notice?.({ kind: "joined", user: frame.user });
        break;
      case "left":
        this.#on.notice?.(
          frame.kicked === undefined
            ? { kind: "left", user: frame.user }
            : { kind: "left", user: frame.user, kicked: frame.kicked },
        );
        break;
      case "kicked":
        // The room closes the socket next, for good: nothing waits to be sent.
        this.#outbox.close(removedText(frame));
        this.#on.kicked?.(frame);
        break;
      case "bans":
        this.#on.bans?.(frame);
        break;
      case "modlog":
        this.#on.modlog?.(frame);
        break;
      case "rotated":
        this.#on.rotated?.(frame.ownerKey);
        break;
      case "settings": {
        const before = this.#settings;
        this.#settings = { ...DEFAULT_SETTINGS, ...frame.settings };
        const changed = (Object.keys(this.#settings) as (keyof RoomSettings)[]).filter(
          (key) => this.#settings[key] !== before[key],
        );
        this.#on.settings?.(changed, frame.by);
        break;
      }
      case "renamed":
        this.#renamed(frame.user, frame.from);
        break;
      case "role": {
        const you = frame.user.id === me;
        if (you) this.#me = frame.user;
        this.#on.notice?.({ kind: "role", user: frame.user, by: frame.by, you });
        break;
      }
      case "call":
        this.#on.call?.(frame);
        if (callChange !== null && callChange.kind !== "changed") {
          const you = frame.user.id === me;
          this.#on.notice?.({ kind: "call", user: frame.user, joined: callChange.kind === "joined", you });
        }
        break;
      case "signal":
        this.#on.signal?.(frame);
        break;
      case "error":
        this.#error(frame);
        break;
    }
    if (rosterChanged || frame.type === "call") this.#on.roster?.();
  }

  #welcome(frame: WelcomeFrame): void {
    const first = this.#me === null;
    this.#me = frame.you;
    this.#limits = frame.limits;
    // (A room from before settings sends none: the defaults are what it does.)
    this.#settings = { ...DEFAULT_SETTINGS, ...frame.settings };
    // Rejoin under the name the room gave us (a session that expired while
    // away comes back as a new identity with this name).
    this.#connection.renamed(frame.you.nick);
    if (frame.truncated && !first) this.messages.restart();
    // The history confirms what of ours got through before a drop; what is
    // left cannot be told when the history was cut short.
    const history = this.#add(frame.history.filter((entry) => entry.type === "message"));
    const lost = frame.truncated ? this.#outbox.takeUnconfirmed() : [];
    for (const item of lost) if (item.kind === "message") this.messages.fail(item.cid, LOST);
    // Everything else in the outbox goes (again) now.
    this.#outbox.joined(frame.limits, frame.you.nick);
    this.#on.welcome?.({ frame, first, history, lost });
    // A resume brings what changed while we were away, after the messages
    // (those are already as they are now): it applies to what we held.
    for (const entry of frame.history) if (entry.type !== "message") this.#change(entry);
  }

  /** An edit, a reaction, a deletion or a clear, applied to the list and then told to the view. */
  #change(entry: Exclude<LogEntry, MessageFrame>): void {
    if (entry.type === "edited") {
      // An edit of a message deleted since: its `deleted` entry follows.
      if (entry.deleted === true) return;
      this.#on.edited?.(entry, this.messages.edit(entry.target, entry.text, entry.ts, entry.mentions));
    } else if (entry.type === "reacted") {
      const change: ReactionChange = { emoji: entry.emoji, user: entry.user.id, on: entry.on };
      if (entry.count !== undefined) change.count = entry.count;
      this.#on.reacted?.(entry, this.messages.react(entry.target, change, this.#me?.id));
    } else if (entry.type === "deleted") {
      this.#on.deleted?.(entry, this.messages.delete(entry.target));
    } else {
      this.messages.clear(entry.id);
      this.#on.cleared?.(entry);
    }
  }

  /** Adds messages to the list; the echoes of ours confirm them. Returns what was new. */
  #add(messages: readonly MessageFrame[]): MessageFrame[] {
    const me = this.#me?.id;
    const added = this.messages.add(messages, me);
    for (const message of added) {
      if (message.cid !== undefined && message.from.id === me) this.#outbox.confirmMessage(message.cid);
    }
    return added;
  }

  #renamed(user: User, from: string): void {
    const you = user.id === this.#me?.id;
    if (you) {
      this.#me = user;
      this.#outbox.confirmRename();
      this.#connection.renamed(user.nick);
    }
    // A rename to exactly the current name is confirmed to the renamer alone: nothing changed.
    if (user.nick !== from) this.#on.notice?.({ kind: "renamed", user, from, you });
  }

  #error(frame: ErrorFrame): void {
    if (!this.#connection.joined) return this.#on.joinRefused?.(frame);
    const item = this.#outbox.refused(frame.cid);
    if (item === undefined) return this.#on.error?.(frame);
    this.#refused(item, frame.message);
  }

  #refused(item: Outgoing, reason: string): void {
    if (item.kind === "message") this.messages.fail(item.cid, `Not sent: ${reason}`);
    this.#on.refused?.(item, reason);
  }

  #status(status: Status, detail: StatusDetail): void {
    // Held until the next welcome, which says what got through.
    if (status !== "online") this.#outbox.disconnected();
    this.#on.status?.(status, detail);
  }
}

/** A role change in words, as both clients say it: "Olu made you a
 * moderator", "Olu made Ana a member again". Names come as the view shows
 * them; `who` is null for ourselves. */
export function roleText(by: string, who: string | null, role: User["role"]): string {
  return `${by} made ${who ?? "you"} ${role === "moderator" ? "a moderator" : "a member again"}`;
}

/** Someone a moderator removed, as both clients say it: "Olu removed
 * Troll: spam", "Olu banned Troll until 2 Dec 2026, 12:00". `reason` comes
 * as the view shows it. */
export function removalText(by: string, who: string, { until }: Removal, reason: string | undefined): string {
  const how = until === undefined ? `removed ${who}` : `banned ${who} ${untilText(until)}`;
  return `${by} ${how}${reason === undefined ? "" : `: ${reason}`}`;
}

/** Why we are no longer in the room, as both clients say it: by whom and
 * why, and when we may come back; or, when someone else joined from our
 * address was the one removed, only that (their name and reason are theirs). */
export function removedText({ by, reason, until, backAt, network }: KickedFrame): string {
  // Today's time alone, or a day and a time.
  const at = (ms: number) =>
    new Date(ms).toLocaleString(
      undefined,
      ms - Date.now() < 43_200_000 ? { timeStyle: "short" } : { dateStyle: "medium", timeStyle: "short" },
    );
  const back = backAt == null ? "" : ` You can come back after ${at(backAt)}.`;
  if (network)
    return `Someone using your network (your address) was removed from this room, so you were too.${backAt === null ? " The address is kept out for good." : back}`;
  const how = until === undefined ? "removed you from this room" : `banned you from this room ${untilText(until)}`;
  return `${by.nick} ${how}${reason === undefined ? "." : `: ${reason}.`}${until === undefined ? back : ""}`;
}

/** When a ban ends, as both clients say it: "until 2 Dec 2026, 11:50" in
 * the reader's own time, or "for good". */
export function untilText(until: number | null | undefined): string {
  if (until == null) return "for good";
  return `until ${new Date(until).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" })}`;
}

/** A change of the room's settings in words, as both clients say it:
 * "Ana set the topic: Release day", "Ana turned slow mode on (10 s)"… */
export function settingsText(settings: RoomSettings, changed: (keyof RoomSettings)[], by: string): string[] {
  const say: Record<keyof RoomSettings, () => string> = {
    topic: () => (settings.topic === "" ? `${by} cleared the topic` : `${by} set the topic: ${settings.topic}`),
    locked: () =>
      settings.locked ? `${by} locked the room: only people who have been here can join` : `${by} unlocked the room`,
    slowModeSeconds: () =>
      settings.slowModeSeconds === 0
        ? `${by} turned slow mode off`
        : `${by} turned slow mode on: one message every ${settings.slowModeSeconds} s`,
    files: () => `${by} turned sharing files ${settings.files ? "on" : "off"}`,
    calls: () => `${by} turned calls ${settings.calls ? "on" : "off"}`,
  };
  return changed.map((key) => say[key]());
}

/** One line of the moderation log in words: "11:50 Ana kicked Bo: spam". */
export function modlogText(entry: ModlogEntry): string {
  const at = new Date(entry.at).toLocaleString(undefined, { dateStyle: "short", timeStyle: "short" });
  const whom = entry.target === undefined ? "" : ` ${entry.target.nick}`;
  const what: Record<ModlogEntry["action"], string> = {
    role: `made${whom} ${entry.detail === "moderator" ? "a moderator" : "a member"}`,
    kick: `kicked${whom}`,
    ban: `banned${whom} ${entry.detail?.startsWith("until ") ? untilText(Date.parse(entry.detail.slice(6))) : (entry.detail ?? "")}`.trimEnd(),
    unban: `lifted ban ${entry.detail ?? ""}`.trimEnd(),
    settings: `changed the settings: ${settingsDetail(entry.detail)}`,
    rotate: "replaced the owner key",
    delete: `deleted message #${entry.detail ?? "?"} by${whom}`,
    clear: "cleared the history",
  };
  return `${at} ${entry.by.nick} ${what[entry.action]}${entry.reason === undefined ? "" : `: ${entry.reason}`}`;
}

/** The settings as people call them. */
const SETTING_NAMES: Record<string, string> = {
  topic: "topic",
  locked: "locked",
  slowModeSeconds: "slow mode",
  files: "files",
  calls: "calls",
};

/** A settings change as the log keeps it (JSON) in words: "topic: Release day, locked: yes, slow mode: 10 s". */
function settingsDetail(detail: string | undefined): string {
  try {
    const changes = JSON.parse(detail ?? "{}") as Record<string, unknown>;
    const said = (key: string, value: unknown): string =>
      value === true ? "on" : value === false ? "off" : key === "slowModeSeconds" ? `${value} s` : String(value);
    return Object.entries(changes)
      .map(([key, value]) => `${SETTING_NAMES[key] ?? key}: ${said(key, value)}`)
      .join(", ");
  } catch {
    return detail ?? "";
  }
}
