/**
 * Protocol v1: every frame that crosses a room's WebSocket, and the rules for
 * reading them. The Worker, the room, the browser page and the terminal client
 * all import this one module, so the wire format is written down exactly once
 * (docs/protocol.md is its prose twin).
 *
 * Nothing here touches the platform: it runs unchanged in Workers, browsers
 * and Node.
 */

export const PROTOCOL_VERSION = 1;

// ---------------------------------------------------------------------------
// Names
// ---------------------------------------------------------------------------

/** 1–64 of a-z 0-9 - _, starting with a letter or digit (after case-folding). */
const ROOM_NAME = /^[a-z0-9][a-z0-9_-]{0,63}$/;
/** Checked before case-folding, so that look-alikes such as the Kelvin sign
 * (U+212A, which lower-cases to "k") cannot alias an ASCII room. */
const ROOM_NAME_CHARS = /^[A-Za-z0-9_-]+$/;

/** The canonical (lower-case) room name, or null when `raw` is not one. */
export function parseRoomName(raw: string): string | null {
  if (!ROOM_NAME_CHARS.test(raw)) return null;
  const name = raw.toLowerCase();
  return ROOM_NAME.test(name) ? name : null;
}

/** Invisible or layout-breaking in a nickname: control (Cc), format (Cf:
 * bidi overrides, zero-width joiners…), line and paragraph separators,
 * Unicode's Default_Ignorable_Code_Point (Hangul fillers U+115F, U+1160,
 * U+3164, U+FFA0, variation selectors…) and the blank Braille pattern U+2800,
 * which all let "Alice" pass for someone else or for nobody. A variation
 * selector right after an emoji ("❤️") only picks how it is drawn: kept. */
const NICK_FORBIDDEN = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\u2800]|(?![\uFE0E\uFE0F])\p{DI}|(?<!\p{Emoji})[\uFE0E\uFE0F]/u;
/** In message text only tab and line feed survive: every other C0 and C1
 * control (ESC and the 8-bit CSI U+009B above all: terminal clients print
 * text as is), and the bidi embeddings, overrides and isolates that turn the
 * rest of a line around in other people's clients, are refused. */
const TEXT_FORBIDDEN = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;
/** Most combining marks (accents, vowel signs) on one character. Real
 * writing uses a few; "Zalgo" text stacks dozens to spill over other lines. */
export const MAX_COMBINING_MARKS = 16;
const COMBINING_PILE = new RegExp(`\\p{M}{${MAX_COMBINING_MARKS + 1}}`, "u");
const COMBINING_PILE_MESSAGE = `At most ${MAX_COMBINING_MARKS} combining marks (accents) may sit on one character.`;

/** Length in Unicode code points (what people count as characters far more
 * often than UTF-16 units). */
export function codePointLength(text: string): number {
  let count = 0;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    // A high surrogate followed by a low one is a single code point.
    if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) i++;
    }
    count++;
  }
  return count;
}

/** True when `text` is longer than `max` code points, counting only when the
 * cheap UTF-16 length cannot decide. */
function longerThan(text: string, max: number): boolean {
  if (text.length <= max) return false;
  if (text.length > 2 * max) return true;
  return codePointLength(text) > max;
}

/** Size of `text` in UTF-8 bytes, without encoding it. */
export function utf8Length(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit < 0x80) bytes += 1;
    else if (unit < 0x800) bytes += 2;
    else if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < text.length && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      bytes += 4; // a surrogate pair
      i++;
    } else bytes += 3;
  }
  return bytes;
}

export type NickResult = { ok: true; nick: string } | { ok: false; message: string };

/** Trims, NFC-normalises and checks a nickname. */
export function parseNick(raw: string, maxLength: number): NickResult {
  const nick = raw.trim().normalize("NFC");
  if (nick.length === 0) return { ok: false, message: "A nickname cannot be empty." };
  if (longerThan(nick, maxLength)) {
    return { ok: false, message: `A nickname is at most ${maxLength} characters.` };
  }
  if (!nick.isWellFormed() || NICK_FORBIDDEN.test(nick)) {
    return {
      ok: false,
      message: "A nickname cannot contain control, formatting or invisible characters.",
    };
  }
  if (COMBINING_PILE.test(nick)) return { ok: false, message: COMBINING_PILE_MESSAGE };
  return { ok: true, nick };
}

/** The form two nicknames are compared in: "Kartik", "KARTIK", the
 * full-width "Ｋａｒｔｉｋ" and the Cyrillic-lettered "Каrtik" are the same
 * person in a room. */
export { nickKey } from "./confusables";

// ---------------------------------------------------------------------------
// Frames
// ---------------------------------------------------------------------------

/** Who may do what in a room: the owner appoints moderators; both moderate. */
export type Role = "owner" | "moderator" | "member";

export interface User {
  id: string;
  nick: string;
  /** Present when not "member". It belongs to the identity (the session). */
  role?: Exclude<Role, "member">;
}

/** How much each role may do: one acts only on those ranked below. */
export const ROLE_RANK: Readonly<Record<Role, number>> = { member: 0, moderator: 1, owner: 2 };
export const roleOf = (user: User): Role => user.role ?? "member";
/** Moderators and the owner: they kick, ban, change settings, read bans and the log. */
export const isStaff = (user: User): boolean => ROLE_RANK[roleOf(user)] >= ROLE_RANK.moderator;
/** `by` ranks above `user` (nobody acts on an equal or higher role). */
export const outranks = (by: User, user: User): boolean => ROLE_RANK[roleOf(by)] > ROLE_RANK[roleOf(user)];
/** May `me` act on `user`: staff, on someone else of a lower role. */
export function canModerate(me: User | null, user: User): boolean {
  return me !== null && me.id !== user.id && isStaff(me) && outranks(me, user);
}

// Client → server.
export interface JoinFrame {
  type: "join";
  nick: string;
  /** Resume: send every message after this id instead of the recent history. */
  since?: number;
  /** The `session` token of an earlier `welcome`, to take that identity back. */
  session?: string;
  /** The room's owner key (from creating or claiming it): this identity becomes the owner. */
  ownerKey?: string;
}
export interface SendFrame {
  type: "message";
  text: string;
  cid?: string;
  /** An action ("/me waves"): shown as "* Kartik waves". */
  action?: true;
  /** The id of the message this one answers. */
  replyTo?: number;
}
export interface TypingFrame {
  type: "typing";
}
export interface NickFrame {
  type: "nick";
  nick: string;
  /** Echoed in an error about this rename, so that a client can tell which
   * of its frames was refused (as a message's cid is). */
  cid?: string;
}
/** Asks for older history: the messages before `before`, newest last. */
export interface HistoryRequestFrame {
  type: "history";
  before: number;
}
/** What someone sends in the room's call: microphone and camera on or off. */
export interface CallState {
  audio: boolean;
  video: boolean;
}
/** Joins the room's call, changes what one sends in it, or (state null) leaves it. */
export interface CallFrame {
  type: "call";
  state: CallState | null;
}
/** WebRTC signalling for one other member of the call (an offer, an answer,
 * an ICE candidate…): relayed to that user alone, never stored. */
export interface SignalFrame {
  type: "signal";
  to: string;
  data: Record<string, unknown>;
}
/** The owner appoints a moderator, or makes one a member again. */
export interface RoleFrame {
  type: "role";
  user: string;
  role: "moderator" | "member";
}
/** A moderator removes someone: they may come back after a cool-down. */
export interface KickFrame {
  type: "kick";
  user: string;
  reason?: string;
}
/** A kick that also keeps that identity and its address out, for `minutes` (absent: for good). */
export interface BanFrame {
  type: "ban";
  user: string;
  minutes?: number;
  reason?: string;
}
/** A moderator changes some of the room's settings (any subset, at least one). */
export interface SettingsFrame extends Partial<RoomSettings> {
  type: "settings";
}
/** The owner replaces the owner key: the old one makes no one an owner any
 * more, and every other owner identity becomes a member. */
export interface RotateFrame {
  type: "rotate";
}
/** To the owner who rotated: the new key (shown this once). */
export interface RotatedFrame {
  type: "rotated";
  ownerKey: string;
}
/** A moderator asks for the moderation log. */
export interface ModlogRequestFrame {
  type: "modlog";
}
/** A moderator asks for the bans in force. */
export interface BansRequestFrame {
  type: "bans";
}
/** A moderator lifts a ban (by its id, from `bans`). */
export interface UnbanFrame {
  type: "unban";
  ban: string;
}
/** Deletes a message: anyone their own, moderators anyone's below them. */
export interface DeleteFrame {
  type: "delete";
  /** The message's id. */
  id: number;
}
/** The owner deletes the whole history and every file. */
export interface ClearFrame {
  type: "clear";
}
/** Changes the text of one's own message. */
export interface EditFrame {
  type: "edit";
  /** The message's id. */
  id: number;
  text: string;
}
/** Adds (`on`) or takes back one's reaction to a message: one emoji. */
export interface ReactFrame {
  type: "react";
  /** The message's id. */
  id: number;
  /** One emoji (a single RGI emoji grapheme; see parseEmoji). */
  emoji: string;
  on: boolean;
}
/** Asks who reacted to a message with an emoji, a page at a time (a
 * message's `reactions` name at most REACTION_USERS_SHOWN of them). */
export interface ReactionsRequestFrame {
  type: "reactions";
  /** The message's id. */
  id: number;
  emoji: string;
  /** How many of them to skip (the page's start), first first; absent: 0. */
  offset?: number;
}
/** Looks for messages by their words: the newest first, a page at a time. */
export interface SearchFrame {
  type: "search";
  query: string;
  /** Only messages with smaller ids: the next page after the last result. */
  before?: number;
}
export type ClientFrame =
  | EditFrame
  | ReactFrame
  | ReactionsRequestFrame
  | SearchFrame
  | DeleteFrame
  | ClearFrame
  | RotateFrame
  | ModlogRequestFrame
  | SettingsFrame
  | KickFrame
  | BanFrame
  | BansRequestFrame
  | UnbanFrame
  | RoleFrame
  | JoinFrame
  | SendFrame
  | TypingFrame
  | NickFrame
  | HistoryRequestFrame
  | CallFrame
  | SignalFrame;

/** A file shared in a message: uploaded over HTTP, stored in R2 (files.ts). */
export interface FileInfo {
  /** 26 base32 characters, unguessable. */
  id: string;
  /** Cleaned for display and saving (cleanFileName). */
  name: string;
  /** In bytes. */
  size: number;
  /** The MIME type; an image is shown inline exactly when isInlineImage(type). */
  type: string;
  /** Where to download it, relative to the server: /api/rooms/:room/files/:id. */
  url: string;
}

// Server → client.
export interface MessageFrame {
  type: "message";
  /** Per room: strictly increasing and gapless. */
  id: number;
  /** Server time, ms since the epoch. */
  ts: number;
  from: User;
  text: string;
  cid?: string;
  action?: true;
  /** A file message: `text` is empty and the file is here. */
  file?: FileInfo;
  /** The message this one answers, as it was quoted (see Quote). */
  replyTo?: Quote;
  /** When its text was last changed (ms since the epoch), if it was. */
  edited?: number;
  /** Who reacted with what: each emoji (in the order they were first used)
   * to the ids of the users who chose it, first first: at most
   * REACTION_USERS_SHOWN of them (reactionCounts then has how many chose
   * it). Absent: none. */
  reactions?: Record<string, string[]>;
  /** Present when more people chose an emoji than `reactions` names: each
   * such emoji to how many chose it. */
  reactionCounts?: Record<string, number>;
  /** With reactionCounts only, in answers to one person (a welcome, a page,
   * results): the emoji that person chose, named in `reactions` or not. */
  yourReactions?: string[];
  /** The users it names as `@nick` who were in the room when it was sent (or
   * last edited), stamped by the room. Absent: none. */
  mentions?: string[];
  /** A tombstone: the message was deleted, and `text` is empty (no file,
   * no action). Its id, time, sender and cid stay, so that the log keeps its
   * place and a sender's client can still confirm it. */
  deleted?: true;
}
/** A reply's quote of the message it answers: who wrote it and how it
 * starts (at most QUOTE_LENGTH characters; a file's name for a file), or,
 * once that message is deleted, `deleted` and no text. */
export interface Quote {
  id: number;
  from: User;
  text: string;
  deleted?: true;
}
/** How much of the original a reply quotes, in characters (code points). */
export const QUOTE_LENGTH = 140;
/** The start of `text` a quote shows: at most `length` characters (QUOTE_LENGTH), on one line. */
export function quoteText(text: string, length = QUOTE_LENGTH): string {
  const line = text.replace(/\s+/g, " ").trim();
  const chars = [...line];
  return chars.length <= length ? line : `${chars.slice(0, length - 1).join("")}…`;
}
/** Everyone: a message's sender changed its text. An entry in the room's log. */
export interface EditedFrame {
  type: "edited";
  /** This entry's id in the room's log. */
  id: number;
  /** The edited message's id. */
  target: number;
  /** Its text now. */
  text: string;
  ts: number;
  /** Who edited it: always its sender. */
  by: User;
  /** Who the new text mentions (see MessageFrame.mentions). */
  mentions?: string[];
  /** A tombstone: the message was deleted since, and `text` is empty. Its
   * `deleted` entry comes later in the log; there is nothing to apply. */
  deleted?: true;
}
/** Everyone: someone added (`on`) or took back a reaction. An entry in the room's log. */
export interface ReactedFrame {
  type: "reacted";
  /** This entry's id in the room's log. */
  id: number;
  /** The message's id. */
  target: number;
  emoji: string;
  user: User;
  on: boolean;
  ts: number;
  /** How many people have this emoji on the message after this entry
   * (absent from entries stored before it was counted). */
  count?: number;
}
/** The answer to a `reactions` request: who chose `emoji` on message `id`,
 * first first, from `offset`. */
export interface ReactionsFrame {
  type: "reactions";
  id: number;
  emoji: string;
  /** How many chose it, in all. */
  count: number;
  offset: number;
  /** At most REACTION_USERS_PAGE of them, as they were when they reacted. */
  users: User[];
  /** Present (and true) when there is nobody after these. */
  complete?: true;
}
/** The answer to `search`: matching messages, newest first. */
export interface ResultsFrame {
  type: "results";
  /** The request's query, so that answers can be matched to requests. */
  query: string;
  /** The request's `before`, when it had one. */
  before?: number;
  /** At most SEARCH_PAGE messages, as they are now, newest first. */
  messages: MessageFrame[];
  /** Present (and true) when there are no more matches. */
  complete?: true;
}
/** Most different emoji on one message. */
export const MAX_REACTIONS = 20;
/** Most users a message's `reactions` names per emoji, so that a message
 * stays a few KiB however many react: a count says how many more. */
export const REACTION_USERS_SHOWN = 10;
/** Users in one answer to a `reactions` request. */
export const REACTION_USERS_PAGE = 100;
/** The longest search query, in characters; and most words in one. */
export const MAX_SEARCH_LENGTH = 100;
export const MAX_SEARCH_WORDS = 8;
/** Results in one answer to `search`. */
export const SEARCH_PAGE = 20;
/** Everyone: a message was deleted. An entry in the room's log: it has the
 * next id, and a resume after an id before it brings it back. */
export interface DeletedFrame {
  type: "deleted";
  /** This entry's id in the room's log. */
  id: number;
  ts: number;
  /** The deleted message's id. */
  target: number;
  /** Who deleted it: its sender, or a moderator. */
  by: User;
}
/** Everyone: the owner deleted the whole history (every entry before `id`) and every file. */
export interface ClearedFrame {
  type: "cleared";
  id: number;
  ts: number;
  by: User;
}
/**
 * An entry in the room's ordered log: everything that changes the history
 * takes the next id (strictly increasing, gapless), and `join.since` resumes
 * the log from there.
 */
export type LogEntry = MessageFrame | EditedFrame | ReactedFrame | DeletedFrame | ClearedFrame;
const LOG_ENTRY_TYPES: ReadonlySet<string> = new Set(["message", "edited", "reacted", "deleted", "cleared"]);
/** The log entry types (the clients count their ids for `since`). */
export const isLogEntry = (frame: { type: string }): frame is LogEntry => LOG_ENTRY_TYPES.has(frame.type);
/** One person in the room's call. */
export interface CallMember {
  user: User;
  state: CallState;
}
/** An ICE server for RTCPeerConnection (the same shape as RTCIceServer). */
export interface IceServer {
  urls: string | string[];
  username?: string;
  credential?: string;
}
/** The room's call as a newcomer finds it. */
export interface CallInfo {
  members: CallMember[];
  /** Most people in the call at once (a mesh: each sends to every other). */
  maxParticipants: number;
  iceServers: IceServer[];
}
export interface WelcomeFrame {
  type: "welcome";
  room: string;
  you: User;
  session: string;
  users: User[];
  /**
   * On a first join, the newest messages (deleted ones as tombstones). On a
   * resume (`since`), every log entry after `since`: messages as they are
   * now, and the `deleted` and `cleared` entries.
   */
  history: LogEntry[];
  /** Present (and true) when messages after `since` were missed for good. */
  truncated?: true;
  /** The room's limits, so a client can check before it sends. */
  limits: RoomLimits;
  /** Who is in the room's call, and how to connect to them (absent from rooms without calls). */
  call?: CallInfo;
  /** The room's settings, all of them. */
  settings: RoomSettings;
}
/** What moderators set for the whole room. */
export interface RoomSettings {
  /** Shown under the room's name; "" for none. At most MAX_TOPIC_LENGTH characters. */
  topic: string;
  /** Only identities that have been in the room (and moderators, the owner) may join. */
  locked: boolean;
  /** A member sends at most one message per this many seconds (0: off). */
  slowModeSeconds: number;
  /** Members may share files. */
  files: boolean;
  /** Members may join the call. */
  calls: boolean;
}
export const DEFAULT_SETTINGS: Readonly<RoomSettings> = {
  topic: "",
  locked: false,
  slowModeSeconds: 0,
  files: true,
  calls: true,
};
/** Everyone: the settings as they are now, and the moderator who changed them. */
export interface SettingsNoticeFrame {
  type: "settings";
  settings: RoomSettings;
  by: User;
}
export interface JoinedFrame {
  type: "joined";
  user: User;
}
export interface LeftFrame {
  type: "left";
  user: User;
  /** Present when a moderator removed them (a kick or a ban). */
  kicked?: Removal;
}
/** Who removed someone, why, and for a ban until when (null: for good). */
export interface Removal {
  by: User;
  reason?: string;
  /** Present for a ban only. */
  until?: number | null;
}
/** To each one removed, just before the room closes their socket (4003):
 * the one a moderator removed, and everyone else joined from that address
 * (`network`), whom the address's ban keeps out too. */
export interface KickedFrame extends Removal {
  type: "kicked";
  /** When they may join again, ms since the epoch: a kick's cool-down or a
   * ban's end; null: never (a ban for good). Absent from older rooms. */
  backAt?: number | null;
  /** Present (and true) when they were not the one removed: someone else
   * joined from their address (network) was, and the address is kept out
   * until `backAt`. `by` is the moderator; there is no `reason` or `until`
   * (those are the removed person's). */
  network?: true;
}
/** A ban in force, as moderators see it. */
export interface BanEntry {
  id: string;
  user: User;
  by: User;
  reason?: string;
  /** Ms since the epoch; null: for good. */
  until: number | null;
}
/** One moderation action, as the log keeps it. */
export interface ModlogEntry {
  /** Ms since the epoch. */
  at: number;
  action: "role" | "kick" | "ban" | "unban" | "settings" | "rotate" | "delete" | "clear";
  /** Who did it (id and nickname then). */
  by: User;
  /** Whom it was about, when anyone. */
  target?: User;
  reason?: string;
  /** What else says what happened: the new role, a ban's end, the settings
   * changed, a deleted message's id. */
  detail?: string;
}
/** The last MODLOG_ENTRIES actions, newest first, to the moderator who asked. */
export interface ModlogFrame {
  type: "modlog";
  entries: ModlogEntry[];
}
export const MODLOG_ENTRIES = 300;
/** The bans in force, to the moderator who asked (or who lifted one). */
export interface BansFrame {
  type: "bans";
  bans: BanEntry[];
}
export interface TypingNoticeFrame {
  type: "typing";
  user: User;
}
export interface RenamedFrame {
  type: "renamed";
  user: User;
  from: string;
}
/** Someone's role changed (`user` carries the new one), and who changed it. */
export interface RoleNoticeFrame {
  type: "role";
  user: User;
  by: User;
}
/** The answer to a history request, to the asker only. */
export interface HistoryFrame {
  type: "history";
  /** The request's `before`, so that answers can be matched to requests. */
  before: number;
  /** Up to HISTORY_PAGE messages with smaller ids, oldest first. */
  messages: MessageFrame[];
  /** Present (and true) when there is nothing older left in the room. */
  complete?: true;
}
/** Someone joined the call, changed what they send, or (state null) left it. To everyone. */
export interface CallNoticeFrame {
  type: "call";
  user: User;
  state: CallState | null;
}
/** Signalling from another member of the call (`from` is their user id, set by the room). */
export interface SignalNoticeFrame {
  type: "signal";
  from: string;
  data: Record<string, unknown>;
}
export interface ErrorFrame {
  type: "error";
  code: ErrorCode;
  message: string;
  /** The `cid` of the refused message, when it had one. */
  cid?: string;
}
export type ServerFrame =
  | EditedFrame
  | ReactedFrame
  | ReactionsFrame
  | ResultsFrame
  | DeletedFrame
  | ClearedFrame
  | RotatedFrame
  | ModlogFrame
  | SettingsNoticeFrame
  | KickedFrame
  | BansFrame
  | RoleNoticeFrame
  | WelcomeFrame
  | MessageFrame
  | JoinedFrame
  | LeftFrame
  | TypingNoticeFrame
  | RenamedFrame
  | HistoryFrame
  | CallNoticeFrame
  | SignalNoticeFrame
  | ErrorFrame;

export const ERROR_CODES = [
  "bad_json",
  "bad_frame",
  "not_joined",
  "already_joined",
  "nick_invalid",
  "nick_taken",
  "too_long",
  "rate_limited",
  "room_full",
  "too_many_connections",
  "too_many_errors",
  "not_in_call",
  "call_full",
  "bad_owner_key",
  "forbidden",
  "not_found",
  "kicked",
  "banned",
  "locked",
  "slow_mode",
  "calls_disabled",
  "too_many_reactions",
  "internal",
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

/** Close codes the server uses, beyond the standard ones (1000, 1009, 1013). */
export const CLOSE_SESSION_TAKEN_OVER = 4001;
/** A socket that broke the room's rules: it never joined in time, or kept
 * sending refused frames (the standard "policy violation"). */
export const CLOSE_POLICY_VIOLATION = 1008;
/** A client that pings went silent for longer than the room's ping timeout. */
export const CLOSE_PING_TIMEOUT = 4002;
/** A moderator removed this socket's user (a kick or a ban): do not reconnect. */
export const CLOSE_KICKED = 4003;
/** The longest reason a moderator may give, in characters. */
export const MAX_REASON_LENGTH = 200;
/** The longest ban with a length: ten years, in minutes. */
export const MAX_BAN_MINUTES = 5_256_000;
export const MAX_TOPIC_LENGTH = 200;
export const MAX_SLOW_MODE_SECONDS = 3600;

export const PING = "ping";
export const PONG = "pong";

// ---------------------------------------------------------------------------
// Reading client frames (the server's side)
// ---------------------------------------------------------------------------

/** What parseClientFrame needs to know of a room's limits. */
export interface FrameLimits {
  messageLength: number;
  nickLength: number;
}

/** The limits a room tells its clients in `welcome`. */
export interface RoomLimits extends FrameLimits {
  /** Least time between two typing notices that the room relays. */
  typingIntervalMs: number;
  /** Frames a connection may send at once (0: no limit)… */
  rateBurst: number;
  /** …and how many more it may send each second after that. */
  ratePerSecond: number;
  /** The largest file an upload may carry, in bytes (absent from rooms without files). */
  fileBytes?: number;
}

export const MAX_CID_LENGTH = 64;
/** User ids are 16 characters; `to` may not be longer than this. */
export const MAX_USER_ID_LENGTH = 64;
export const MAX_SESSION_LENGTH = 128;
export const MAX_OWNER_KEY_LENGTH = 128;

export type ParsedClientFrame =
  | { ok: true; frame: ClientFrame }
  | { ok: false; code: ErrorCode; message: string; cid?: string };

/** A settings frame: the fields it has, each checked; at least one. */
function parseSettings(value: Record<string, unknown>): ParsedClientFrame {
  const frame: SettingsFrame = { type: "settings" };
  if (value.topic !== undefined) {
    if (typeof value.topic !== "string") return refuse("bad_frame", '"topic" must be a string.');
    const topic = value.topic.trim();
    if (longerThan(topic, MAX_TOPIC_LENGTH))
      return refuse("too_long", `A topic is at most ${MAX_TOPIC_LENGTH} characters.`);
    if (!isOneLine(topic))
      return refuse("bad_frame", "A topic is one line, without control characters or bidirectional overrides.");
    frame.topic = topic;
  }
  for (const key of ["locked", "files", "calls"] as const) {
    if (value[key] === undefined) continue;
    if (typeof value[key] !== "boolean") return refuse("bad_frame", `"${key}" must be true or false.`);
    frame[key] = value[key];
  }
  const slow = value.slowModeSeconds;
  if (slow !== undefined) {
    if (!(Number.isSafeInteger(slow) && (slow as number) >= 0 && (slow as number) <= MAX_SLOW_MODE_SECONDS))
      return refuse("bad_frame", `"slowModeSeconds" must be a whole number from 0 to ${MAX_SLOW_MODE_SECONDS}.`);
    frame.slowModeSeconds = slow as number;
  }
  if (Object.keys(frame).length === 1)
    return refuse(
      "bad_frame",
      "A settings frame changes at least one of topic, locked, slowModeSeconds, files, calls.",
    );
  return { ok: true, frame };
}

/** A moderator's optional reason: trimmed, at most MAX_REASON_LENGTH
 * characters of text; "" is none. A refusal when it is not that. */
function parseReason(value: unknown): string | undefined | ParsedClientFrame {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "string") return refuse("bad_frame", '"reason" must be a string.');
  const reason = value.trim();
  if (reason === "") return undefined;
  if (longerThan(reason, MAX_REASON_LENGTH))
    return refuse("too_long", `A reason is at most ${MAX_REASON_LENGTH} characters.`);
  if (!isOneLine(reason))
    return refuse("bad_frame", "A reason is one line, without control characters or bidirectional overrides.");
  return reason;
}

/** One line of text (a topic, a reason, a search): well formed, without
 * control characters, bidi overrides or line breaks. */
const isOneLine = (text: string): boolean => text.isWellFormed() && !TEXT_FORBIDDEN.test(text) && !text.includes("\n");

/** A message's text (a new message's, or an edit's): trimmed, CR/CRLF as
 * LF, 1–messageLength characters, no controls, bidi overrides or piles of
 * marks. The text, or the refusal (with `cid`). */
function parseText(value: unknown, limits: FrameLimits, cid: string | undefined): string | ParsedClientFrame {
  if (typeof value !== "string") return refuse("bad_frame", '"text" must be a string.', cid);
  let text = value.trim();
  if (text.includes("\r")) text = text.replace(/\r\n?/g, "\n");
  if (text.length === 0) return refuse("bad_frame", "A message cannot be empty.", cid);
  if (longerThan(text, limits.messageLength)) {
    return refuse("too_long", `A message is at most ${limits.messageLength} characters.`, cid);
  }
  if (!text.isWellFormed() || TEXT_FORBIDDEN.test(text)) {
    return refuse("bad_frame", "A message cannot contain control characters or bidirectional overrides.", cid);
  }
  if (COMBINING_PILE.test(text)) return refuse("bad_frame", COMBINING_PILE_MESSAGE, cid);
  return text;
}

/** One emoji as the room keeps it, or null when `value` is not exactly one:
 * a single RGI emoji (a grapheme such as "👍", "👍🏽", "🇫🇷", "👩‍👩‍👧" or
 * "1️⃣"). A lone symbol typed without its emoji selector ("❤") gets it ("❤️"). */
export function parseEmoji(value: unknown): string | null {
  if (typeof value !== "string" || value.length === 0 || value.length > 32) return null;
  // Built on first use, at run time: the `v` flag (Unicode sets) is newer than the page's build target.
  // biome-ignore lint/complexity/useRegexLiterals: a literal with the v flag would not build for the page's target.
  emojiPattern ??= new RegExp("^\\p{RGI_Emoji}$", "v");
  if (emojiPattern.test(value)) return value;
  const selected = `${value}\uFE0F`;
  return [...value].length === 1 && emojiPattern.test(selected) ? selected : null;
}
let emojiPattern: RegExp | null = null;

/** An id of the room's log: a safe integer ≥ 1. */
const isMessageId = (value: unknown): value is number => Number.isSafeInteger(value) && (value as number) >= 1;

/** The `cid` of a parsed or refused message or nick frame, to echo in an error about it. */
export function cidOf(parsed: ParsedClientFrame): string | undefined {
  if (!parsed.ok) return parsed.cid;
  return parsed.frame.type === "message" || parsed.frame.type === "nick" ? parsed.frame.cid : undefined;
}

function refuse(code: ErrorCode, message: string, cid?: string): ParsedClientFrame {
  return cid === undefined ? { ok: false, code, message } : { ok: false, code, message, cid };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Deepest nesting of objects and arrays in a frame (the frame itself is 1).
 * Frames of protocol v1 are flat; the room refuses deeper ones, unknown
 * fields included, rather than carry a parser bomb around. */
export const MAX_JSON_DEPTH = 8;

/** True when `value` nests objects or arrays more than `levels` deep. */
function nestsDeeperThan(value: unknown, levels: number): boolean {
  if (typeof value !== "object" || value === null) return false;
  if (levels === 0) return true;
  if (Array.isArray(value)) return value.some((item) => nestsDeeperThan(item, levels - 1));
  for (const key in value) if (nestsDeeperThan((value as Record<string, unknown>)[key], levels - 1)) return true;
  return false;
}

/**
 * Parses one text frame from a client into a typed frame, or says why not.
 * Strings come back trimmed and normalised: the caller never re-checks them.
 * Unknown fields are ignored, so that newer clients can talk to older rooms.
 */
export function parseClientFrame(raw: string, limits: FrameLimits): ParsedClientFrame {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return refuse("bad_json", "The frame is not valid JSON.");
  }
  if (!isRecord(value)) return refuse("bad_frame", "A frame must be a JSON object.");
  if (nestsDeeperThan(value, MAX_JSON_DEPTH)) {
    const cid = typeof value.cid === "string" && value.cid.length <= MAX_CID_LENGTH ? value.cid : undefined;
    return refuse("bad_frame", `A frame may nest objects and arrays at most ${MAX_JSON_DEPTH} levels deep.`, cid);
  }

  switch (value.type) {
    case "message": {
      const cid = value.cid;
      if (cid !== undefined && (typeof cid !== "string" || cid.length > MAX_CID_LENGTH)) {
        return refuse("bad_frame", `"cid" must be a string of at most ${MAX_CID_LENGTH} characters.`);
      }
      const text = parseText(value.text, limits, cid);
      if (typeof text !== "string") return text;
      const action = value.action;
      if (action !== undefined && typeof action !== "boolean")
        return refuse("bad_frame", '"action" must be true or false.', cid);
      const replyTo = value.replyTo;
      if (replyTo !== undefined && !isMessageId(replyTo))
        return refuse("bad_frame", '"replyTo" must be a message id (an integer ≥ 1).', cid);
      const frame: SendFrame = { type: "message", text };
      if (cid !== undefined) frame.cid = cid;
      if (action === true) frame.action = true;
      if (replyTo !== undefined) frame.replyTo = replyTo;
      return { ok: true, frame };
    }
    case "typing":
      return { ok: true, frame: { type: "typing" } };
    case "join": {
      if (typeof value.nick !== "string") return refuse("bad_frame", '"nick" must be a string.');
      const { since, session } = value;
      if (since !== undefined && !(Number.isSafeInteger(since) && (since as number) >= 0)) {
        return refuse("bad_frame", '"since" must be a message id (an integer ≥ 0).');
      }
      if (session !== undefined && (typeof session !== "string" || session.length > MAX_SESSION_LENGTH)) {
        return refuse("bad_frame", `"session" must be a string of at most ${MAX_SESSION_LENGTH} characters.`);
      }
      const ownerKey = value.ownerKey;
      if (ownerKey !== undefined && (typeof ownerKey !== "string" || ownerKey.length > MAX_OWNER_KEY_LENGTH)) {
        return refuse("bad_frame", `"ownerKey" must be a string of at most ${MAX_OWNER_KEY_LENGTH} characters.`);
      }
      const nick = parseNick(value.nick, limits.nickLength);
      if (!nick.ok) return refuse("nick_invalid", nick.message);
      const frame: JoinFrame = { type: "join", nick: nick.nick };
      if (since !== undefined) frame.since = since as number;
      if (session !== undefined) frame.session = session;
      if (ownerKey !== undefined) frame.ownerKey = ownerKey;
      return { ok: true, frame };
    }
    case "history": {
      const before = value.before;
      if (!(Number.isSafeInteger(before) && (before as number) >= 1)) {
        return refuse("bad_frame", '"before" must be a message id (an integer ≥ 1).');
      }
      return { ok: true, frame: { type: "history", before: before as number } };
    }
    case "nick": {
      const cid = value.cid;
      if (cid !== undefined && (typeof cid !== "string" || cid.length > MAX_CID_LENGTH)) {
        return refuse("bad_frame", `"cid" must be a string of at most ${MAX_CID_LENGTH} characters.`);
      }
      if (typeof value.nick !== "string") return refuse("bad_frame", '"nick" must be a string.', cid);
      const nick = parseNick(value.nick, limits.nickLength);
      if (!nick.ok) return refuse("nick_invalid", nick.message, cid);
      const frame: NickFrame = { type: "nick", nick: nick.nick };
      if (cid !== undefined) frame.cid = cid;
      return { ok: true, frame };
    }
    case "call": {
      const state = value.state;
      if (state === null) return { ok: true, frame: { type: "call", state: null } };
      if (!isRecord(state) || typeof state.audio !== "boolean" || typeof state.video !== "boolean") {
        return refuse(
          "bad_frame",
          '"state" must be {"audio": true|false, "video": true|false}, or null to leave the call.',
        );
      }
      return { ok: true, frame: { type: "call", state: { audio: state.audio, video: state.video } } };
    }
    case "signal": {
      if (typeof value.to !== "string" || value.to.length === 0 || value.to.length > MAX_USER_ID_LENGTH) {
        return refuse("bad_frame", '"to" must be the user id of someone in the call.');
      }
      if (!isRecord(value.data)) return refuse("bad_frame", '"data" must be a JSON object.');
      return { ok: true, frame: { type: "signal", to: value.to, data: value.data } };
    }
    case "role": {
      if (typeof value.user !== "string" || value.user.length === 0 || value.user.length > MAX_USER_ID_LENGTH) {
        return refuse("bad_frame", '"user" must be the user id of someone in the room.');
      }
      if (value.role !== "moderator" && value.role !== "member") {
        return refuse("bad_frame", '"role" must be "moderator" or "member".');
      }
      return { ok: true, frame: { type: "role", user: value.user, role: value.role } };
    }
    case "kick":
    case "ban": {
      if (typeof value.user !== "string" || value.user.length === 0 || value.user.length > MAX_USER_ID_LENGTH) {
        return refuse("bad_frame", '"user" must be the user id of someone in the room.');
      }
      const reason = parseReason(value.reason);
      if (typeof reason === "object") return reason;
      if (value.type === "kick") {
        const frame: KickFrame = { type: "kick", user: value.user };
        if (reason !== undefined) frame.reason = reason;
        return { ok: true, frame };
      }
      const minutes = value.minutes;
      if (minutes !== undefined && !(Number.isSafeInteger(minutes) && (minutes as number) >= 1)) {
        return refuse("bad_frame", '"minutes" must be a whole number of minutes (at least 1), or absent for good.');
      }
      if (minutes !== undefined && (minutes as number) > MAX_BAN_MINUTES) {
        return refuse(
          "bad_frame",
          `A ban with a length lasts at most ${MAX_BAN_MINUTES} minutes; leave "minutes" out for good.`,
        );
      }
      const frame: BanFrame = { type: "ban", user: value.user };
      if (minutes !== undefined) frame.minutes = minutes as number;
      if (reason !== undefined) frame.reason = reason;
      return { ok: true, frame };
    }
    case "bans":
      return { ok: true, frame: { type: "bans" } };
    case "settings":
      return parseSettings(value);
    case "modlog":
      return { ok: true, frame: { type: "modlog" } };
    case "rotate":
      return { ok: true, frame: { type: "rotate" } };
    case "delete":
      if (!isMessageId(value.id)) return refuse("bad_frame", '"id" must be a message id (an integer ≥ 1).');
      return { ok: true, frame: { type: "delete", id: value.id } };
    case "clear":
      return { ok: true, frame: { type: "clear" } };
    case "edit": {
      if (!isMessageId(value.id)) return refuse("bad_frame", '"id" must be a message id (an integer ≥ 1).');
      const text = parseText(value.text, limits, undefined);
      if (typeof text !== "string") return text;
      return { ok: true, frame: { type: "edit", id: value.id, text } };
    }
    case "react": {
      if (!isMessageId(value.id)) return refuse("bad_frame", '"id" must be a message id (an integer ≥ 1).');
      const emoji = parseEmoji(value.emoji);
      if (emoji === null) return refuse("bad_frame", '"emoji" must be one emoji, such as "👍".');
      if (typeof value.on !== "boolean") return refuse("bad_frame", '"on" must be true or false.');
      return { ok: true, frame: { type: "react", id: value.id, emoji, on: value.on } };
    }
    case "reactions": {
      if (!isMessageId(value.id)) return refuse("bad_frame", '"id" must be a message id (an integer ≥ 1).');
      const emoji = parseEmoji(value.emoji);
      if (emoji === null) return refuse("bad_frame", '"emoji" must be one emoji, such as "👍".');
      const offset = value.offset;
      if (offset !== undefined && !(Number.isSafeInteger(offset) && (offset as number) >= 0))
        return refuse("bad_frame", '"offset" must be a whole number ≥ 0.');
      const frame: ReactionsRequestFrame = { type: "reactions", id: value.id, emoji };
      if (offset !== undefined) frame.offset = offset as number;
      return { ok: true, frame };
    }
    case "search": {
      if (typeof value.query !== "string") return refuse("bad_frame", '"query" must be a string.');
      const query = value.query.trim();
      if (query === "") return refuse("bad_frame", "Search for at least one word.");
      if (longerThan(query, MAX_SEARCH_LENGTH))
        return refuse("too_long", `A search is at most ${MAX_SEARCH_LENGTH} characters.`);
      if (!isOneLine(query))
        return refuse("bad_frame", "A search is one line, without control characters or bidirectional overrides.");
      const before = value.before;
      if (before !== undefined && !isMessageId(before))
        return refuse("bad_frame", '"before" must be a message id (an integer ≥ 1).');
      const frame: SearchFrame = { type: "search", query };
      if (before !== undefined) frame.before = before;
      return { ok: true, frame };
    }
    case "unban":
      if (typeof value.ban !== "string" || value.ban.length === 0 || value.ban.length > MAX_USER_ID_LENGTH) {
        return refuse("bad_frame", '"ban" must be the id of a ban (from a bans frame).');
      }
      return { ok: true, frame: { type: "unban", ban: value.ban } };
    default:
      return refuse(
        "bad_frame",
        'Unknown frame "type": expected join, message, typing, nick, history, call, signal, edit, react, reactions, search, delete, clear, role, kick, ban, bans, unban, settings, modlog or rotate.',
      );
  }
}

// ---------------------------------------------------------------------------
// Reading server frames (the clients' side)
// ---------------------------------------------------------------------------

/** Every frame type the server sends. */
export const SERVER_FRAME_TYPES: ReadonlySet<string> = new Set<string>([
  "welcome",
  "message",
  "joined",
  "left",
  "typing",
  "renamed",
  "history",
  "call",
  "signal",
  "role",
  "kicked",
  "bans",
  "settings",
  "modlog",
  "rotated",
  "edited",
  "reacted",
  "reactions",
  "results",
  "deleted",
  "cleared",
  "error",
]);

/**
 * Reads one WebSocket message from the server: a single frame or a batch (a
 * JSON array of frames, oldest first). `pong` (the reply to `ping`) and frame
 * types this client does not know yield nothing, so newer servers stay
 * readable. The server is trusted for the shape of known frames. Throws a
 * SyntaxError for anything else that is not JSON.
 */
export function parseServerMessage(raw: string): ServerFrame[] {
  if (raw === PONG) return [];
  const value: unknown = JSON.parse(raw);
  const items = Array.isArray(value) ? value : [value];
  return items.filter(
    (item): item is ServerFrame => isRecord(item) && typeof item.type === "string" && SERVER_FRAME_TYPES.has(item.type),
  );
}
