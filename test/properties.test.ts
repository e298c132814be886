/**
 * Property-based tests (fast-check) over the protocol.
 *
 * 1. The parser on its own: arbitrary strings and mutated valid frames never
 *    make `parseClientFrame` throw; what it accepts re-validates and obeys the
 *    documented rules, what it refuses has a known error code.
 * 2. The room, end to end: random interleavings of join / message / nick /
 *    typing / history / garbage / binary / oversized frame / close / rejoin
 *    with a session (take-over or comeback) from 2–4 real sockets against a
 *    fresh room, checked against a small model after every step (see
 *    `runScenario`).
 * 3. The room's sender on its own (`Connections`): random interleavings of
 *    join / leave / rename / broadcast / direct send / retract / flush /
 *    close over real socket pairs, checked against the plainest sender (a
 *    queue per socket): every socket gets exactly the same WebSocket
 *    messages, batched the same way, in the same order.
 *
 * A failure prints fast-check's seed and path; to replay it, pass them back:
 * `fc.assert(property, { seed, path, endOnFailure: true })`.
 */
import { env, exports } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  ERROR_CODES,
  ROLE_RANK,
  codePointLength,
  quoteText,
  nickKey,
  parseClientFrame,
  type ClientFrame,
  type EditedFrame,
  type ErrorCode,
  type Quote,
  type Role,
  type FrameLimits,
  type LogEntry,
  type MessageFrame,
  type ServerFrame,
  type User,
  type WelcomeFrame,
} from "../src/shared/protocol";
import { TestSocket, databaseText, freshRoom } from "./socket";
import { tombstone } from "../src/core/messages";
import { Connections } from "../src/worker/connections";

// ---------------------------------------------------------------------------
// Generators of awkward strings
// ---------------------------------------------------------------------------

/** Single UTF-16 units and code points that tend to break things. */
const nastyChar = fc.oneof(
  fc.constantFrom(
    " ",
    "\t",
    "\n",
    "\r",
    "\r\n",
    "\u0000",
    "\u0007",
    "\u001b",
    "\u007f",
    "\u0085",
    "\u00a0",
    "\u00ad",
    "\u200b",
    "\u200d",
    "\u200e",
    "\u202e",
    "\u2066",
    "\u2028",
    "\u2029",
    "\ufeff",
    "\ufffd",
    "\u009b",
    "\u115f",
    "\u3164",
    "\uffa0",
    "\u2800",
    "\ufe0f",
    "\u2764",
    "\ua4ee",
    "\u13aa",
    "\u1d00",
    "\u01c0",
    "\ud800",
    "\udc00",
    "\ud83d\ude00",
    "e\u0301",
    "\u212a",
    "\uff21",
    "\u3000",
    "a",
    "Z",
    "é",
    '"',
    "\\",
    "{",
    "}",
  ),
  fc.integer({ min: 0, max: 0xffff }).map((unit) => String.fromCharCode(unit)), // lone surrogates included
  fc.integer({ min: 0x10000, max: 0x10ffff }).map((cp) => String.fromCodePoint(cp)),
);
const nastyString = (maxLength: number) => fc.array(nastyChar, { maxLength }).map((parts) => parts.join(""));
/** Mostly short, sometimes around or past the limits. */
const anyString = fc.oneof(
  { weight: 5, arbitrary: nastyString(12) },
  { weight: 2, arbitrary: fc.string({ maxLength: 20 }) },
  {
    weight: 1,
    arbitrary: fc
      .constantFrom(5, 6, 9, 10, 11, 20, 21, 40, 65, 129)
      .chain((n) => fc.tuple(fc.constantFrom("a", "😀", " ", "e\u0301"), fc.constant(n)).map(([c, k]) => c.repeat(k))),
  },
);

// ---------------------------------------------------------------------------
// 1. The parser
// ---------------------------------------------------------------------------

const limits: FrameLimits = { messageLength: 10, nickLength: 5 };
/** The documented rules (docs/security.md), written again here to check the parser against. */
const NICK_FORBIDDEN =
  /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\u2800]|(?![\uFE0E\uFE0F])\p{Default_Ignorable_Code_Point}|(?<!\p{Emoji})[\uFE0E\uFE0F]/u;
const TEXT_FORBIDDEN = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

/** Valid frames of every client type, before mutation. */
const validFrame: fc.Arbitrary<Record<string, unknown>> = fc.oneof(
  fc.record(
    { type: fc.constant("join"), nick: anyString, since: fc.nat(), session: fc.string({ maxLength: 20 }) },
    { requiredKeys: ["type", "nick"] },
  ),
  fc.record(
    { type: fc.constant("message"), text: anyString, cid: fc.string({ maxLength: 10 }), action: fc.boolean() },
    { requiredKeys: ["type", "text"] },
  ),
  fc.record({ type: fc.constant("nick"), nick: anyString }),
  fc.record({ type: fc.constant("history"), before: fc.integer({ min: 1, max: 1_000_000 }) }),
  fc.constant({ type: "typing" }),
);

const FIELDS = ["type", "nick", "text", "cid", "action", "since", "session", "before", "extra"] as const;
/** Values of every JSON type (and a few that JSON.stringify turns into something else). */
const anyValue: fc.Arbitrary<unknown> = fc.oneof(
  anyString,
  fc.constantFrom(
    null,
    true,
    false,
    0,
    -1,
    1.5,
    2 ** 53,
    -0,
    Number.NaN,
    Infinity,
    "join",
    "message",
    "nick",
    "history",
    "typing",
    "TYPE",
    "",
  ),
  fc.integer(),
  fc.double(),
  fc.array(fc.jsonValue(), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 4 }), fc.jsonValue(), { maxKeys: 3 }),
);
type Mutation = { kind: "delete"; field: string } | { kind: "set"; field: string; value: unknown };
const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant("delete" as const), field: fc.constantFrom(...FIELDS) }),
  fc.record({ kind: fc.constant("set" as const), field: fc.constantFrom(...FIELDS), value: anyValue }),
);
const mutatedFrame = fc.tuple(validFrame, fc.array(mutation, { maxLength: 3 })).map(([frame, mutations]) => {
  const copy: Record<string, unknown> = { ...frame };
  for (const m of mutations) {
    if (m.kind === "delete") delete copy[m.field];
    else copy[m.field] = m.value;
  }
  return JSON.stringify(copy);
});

/** Raw text frames: anything at all, JSON of anything, valid and mutated frames, and those cut short. */
const rawFrame: fc.Arbitrary<string> = fc.oneof(
  fc.string({ maxLength: 40 }),
  nastyString(30),
  fc.json(),
  fc.anything().map((value) => JSON.stringify(value) ?? "undefined"),
  validFrame.map((frame) => JSON.stringify(frame)),
  mutatedFrame,
  fc.tuple(mutatedFrame, fc.nat()).map(([raw, cut]) => raw.slice(0, cut % (raw.length + 1))),
);

/** Checks one parse result against the documented rules; returns nothing, throws on a breach. */
function checkParse(raw: string): void {
  const parsed = parseClientFrame(raw, limits); // must not throw
  if (!parsed.ok) {
    expect(ERROR_CODES).toContain(parsed.code);
    // The parser alone can only refuse a frame for what is in it.
    expect(["bad_json", "bad_frame", "nick_invalid", "too_long"]).toContain(parsed.code);
    expect(typeof parsed.message).toBe("string");
    if (parsed.cid !== undefined) {
      expect(typeof parsed.cid).toBe("string");
      expect(parsed.cid.length).toBeLessThanOrEqual(64);
    }
    return;
  }
  const frame: ClientFrame = parsed.frame;
  // A frame that was accepted is accepted again, unchanged, once serialised.
  expect(parseClientFrame(JSON.stringify(frame), limits)).toEqual({ ok: true, frame });
  const input = JSON.parse(raw) as Record<string, unknown>;
  expect(frame.type).toBe(input.type);
  switch (frame.type) {
    case "join":
    case "nick": {
      const nick = frame.nick;
      expect(nick).toBe(nick.trim());
      expect(nick).toBe(nick.normalize("NFC"));
      expect(codePointLength(nick)).toBeGreaterThanOrEqual(1);
      expect(codePointLength(nick)).toBeLessThanOrEqual(limits.nickLength);
      expect(nick.isWellFormed()).toBe(true);
      expect(NICK_FORBIDDEN.test(nick)).toBe(false);
      expect(nick).toBe((input.nick as string).trim().normalize("NFC"));
      if (frame.type === "join") {
        if (frame.since !== undefined) expect(Number.isSafeInteger(frame.since) && frame.since >= 0).toBe(true);
        if (frame.session !== undefined) expect(frame.session.length).toBeLessThanOrEqual(128);
      }
      break;
    }
    case "message": {
      const text = frame.text;
      expect(text).toBe(text.trim());
      expect(text).not.toContain("\r");
      expect(codePointLength(text)).toBeGreaterThanOrEqual(1);
      expect(codePointLength(text)).toBeLessThanOrEqual(limits.messageLength);
      expect(text.isWellFormed()).toBe(true);
      expect(TEXT_FORBIDDEN.test(text)).toBe(false);
      if (frame.cid !== undefined) {
        expect(frame.cid).toBe(input.cid);
        expect(frame.cid.length).toBeLessThanOrEqual(64);
      }
      expect(frame.action === undefined || frame.action === true).toBe(true);
      expect(frame.action === true).toBe(input.action === true);
      break;
    }
    case "history":
      expect(Number.isSafeInteger(frame.before) && frame.before >= 1).toBe(true);
      break;
    case "typing":
      break;
  }
}

describe("parseClientFrame (property)", () => {
  it("never throws; accepts only frames that re-validate and follow the rules; refuses with a known code", () => {
    fc.assert(fc.property(rawFrame, checkParse), { numRuns: 3000 });
  });

  it("echoes the cid of a refused message whose cid is valid", () => {
    fc.assert(
      fc.property(anyString, fc.string({ maxLength: 64 }), (text, cid) => {
        const parsed = parseClientFrame(JSON.stringify({ type: "message", text, cid }), limits);
        if (parsed.ok) expect(parsed.frame).toMatchObject({ cid });
        else expect(parsed.cid).toBe(cid);
      }),
      { numRuns: 1000 },
    );
  });
});

// ---------------------------------------------------------------------------
// 2. The room, with real sockets
// ---------------------------------------------------------------------------

/** The limits of the workers project (vitest.config.ts and the defaults). */
const roomFrameLimits: FrameLimits = { messageLength: 4000, nickLength: 32 };

/** Few names, so that clashes are common. */
const NICKS_FREE = ["Ana", "Bob", "Cy"];
const NICKS_RARE = ["Dee", "Jose\u0301", "😀".repeat(32)];
const NICKS_CLASH = ["ana", "\uff21\uff4e\uff41" /* full-width Ana */, "  Ana ", "BOB", "Jos\u00e9"];
const NICKS_INVALID = ["", "   ", "a".repeat(33), "evil\u202etxt", "zero\u200bwidth", "\ud800x", "line\nbreak"];
const nickValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...NICKS_FREE) },
  { weight: 2, arbitrary: fc.constantFrom(...NICKS_RARE) },
  { weight: 3, arbitrary: fc.constantFrom(...NICKS_CLASH) },
  { weight: 2, arbitrary: fc.constantFrom(...NICKS_INVALID) },
  { weight: 1, arbitrary: nastyString(6) },
  { weight: 1, arbitrary: fc.constantFrom(42, null, ["Ana"]) },
);
const TEXTS_VALID = ["hi", "  padded  ", "a\r\nb", "tab\there", "😀", "e\u0301", "line\u2028sep", "😀".repeat(4000)];
const TEXTS_INVALID = ["", "   ", "esc\u001b[31m", "x".repeat(4001), "\ud800"];
/** Stands for a text made for its step (secretOf): a word nothing else
 * has, looked for everywhere once its message is deleted. */
const SECRET = "(a secret)";
/** Each step's secret word starts with a letter of its own, so that the
 * search index's pages, which share the start of neighbouring words, hold
 * its tail whole: "αecret3q" is stored as "α" shared and "ecret3q", the
 * tail looked for in frames and in SQLite. */
const secretOf = (step: number): string => `${String.fromCodePoint(0x3b1 + step)}ecret${step}q`;
const textValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 8, arbitrary: fc.constantFrom(...TEXTS_VALID) },
  { weight: 3, arbitrary: fc.constantFrom(...TEXTS_INVALID) },
  { weight: 2, arbitrary: nastyString(8) },
  { weight: 1, arbitrary: fc.constantFrom(7, null, { text: "hi" }) },
);
/** How a message's cid is chosen: none, a unique one, or an invalid one. */
type CidKind = "none" | "unique" | "long" | "number";
const GARBAGE = fc
  .oneof(
    fc.constantFrom(
      "not json",
      "[]",
      "{}",
      "null",
      '{"type":"bogus"}',
      '{"type":"message"}',
      '{"type":"join","nick":5}',
      '{"type":"history","before":0}',
      '{"type":"join"',
    ),
    rawFrame,
  )
  .filter((raw) => !parseClientFrame(raw, roomFrameLimits).ok);

type Command =
  | { c: number; do: "join"; nick: unknown; since?: unknown }
  /** `replyTo`: "last" answers the newest message (maybe deleted), a number any id. */
  | { c: number; do: "message"; text: unknown; cid: CidKind; action: unknown; replyTo?: "last" | number | undefined }
  | { c: number; do: "nick"; nick: unknown }
  | { c: number; do: "typing" }
  | { c: number; do: "history"; before: unknown }
  | { c: number; do: "garbage"; raw: string }
  | { c: number; do: "binary" }
  | { c: number; do: "oversize" }
  | { c: number; do: "close" }
  /** A burst of refused frames, as a hostile script sends them: the socket must be cut off, the room go on. */
  | { c: number; do: "flood"; raw: string }
  /** Join again with the slot's last session token: a take-over while its socket is open, a comeback after. */
  | { c: number; do: "rejoin" }
  /** Delete a message: the slot's own newest, someone else's newest, or an id (maybe nothing, maybe a deletion). */
  | { c: number; do: "delete"; which: "own" | "other" | number }
  /** Clear the history (the owner only). */
  | { c: number; do: "clear" }
  | { c: number; do: "edit"; which: "own" | "other" | number; text: string }
  | { c: number; do: "react"; which: "last" | number; emoji: string; on: boolean }
  /** Make slot `target`'s person a moderator or a member (the owner only). */
  | { c: number; do: "appoint"; target: number; role: "moderator" | "member" };

const command = (clients: number): fc.Arbitrary<Command> => {
  const c = fc.nat({ max: clients - 1 });
  return fc.oneof(
    {
      weight: 3,
      arbitrary: fc.record(
        { c, do: fc.constant("join" as const), nick: nickValue, since: fc.constantFrom(0, 1, 3, 100, -1, "x") },
        { requiredKeys: ["c", "do", "nick"] },
      ),
    },
    // Mostly well-formed messages (so that ids advance), and some anything-goes ones.
    {
      weight: 7,
      arbitrary: fc.record({
        c,
        do: fc.constant("message" as const),
        text: fc.constantFrom(...TEXTS_VALID, SECRET, SECRET),
        cid: fc.constantFrom<CidKind>("unique", "unique", "none"),
        action: fc.constantFrom(undefined, undefined, true, false),
        replyTo: fc.constantFrom<"last" | number | undefined>(undefined, undefined, undefined, "last", "last", 1, 999),
      }),
    },
    {
      weight: 4,
      arbitrary: fc.record({
        c,
        do: fc.constant("message" as const),
        text: textValue,
        cid: fc.constantFrom<CidKind>("unique", "unique", "unique", "none", "none", "long", "number"),
        action: fc.constantFrom(undefined, undefined, undefined, undefined, true, false, "yes"),
      }),
    },
    { weight: 3, arbitrary: fc.record({ c, do: fc.constant("nick" as const), nick: nickValue }) },
    { weight: 1, arbitrary: fc.record({ c, do: fc.constant("typing" as const) }) },
    {
      weight: 1,
      arbitrary: fc.record({
        c,
        do: fc.constant("history" as const),
        before: fc.constantFrom(1, 2, 4, 1000, 0, -3, 1.5, "9"),
      }),
    },
    { weight: 1, arbitrary: fc.record({ c, do: fc.constant("garbage" as const), raw: GARBAGE }) },
    { weight: 1, arbitrary: fc.record({ c, do: fc.constant("binary" as const) }) },
    { weight: 1, arbitrary: fc.record({ c, do: fc.constant("oversize" as const) }) },
    { weight: 1, arbitrary: fc.record({ c, do: fc.constant("close" as const) }) },
    {
      weight: 1,
      arbitrary: fc.record({
        c,
        do: fc.constant("flood" as const),
        raw: fc.constantFrom(
          "not json",
          '{"type":"bogus"}',
          '{"type":"message","text":""}',
          '{"type":"signal","to":"x","data":{}}',
        ),
      }),
    },
    { weight: 2, arbitrary: fc.record({ c, do: fc.constant("rejoin" as const) }) },
    // Moderation: slot 0 joins first with the owner key, so it owns the room.
    {
      weight: 4,
      arbitrary: fc.record({
        c,
        do: fc.constant("delete" as const),
        which: fc.constantFrom<"own" | "other" | number>("own", "own", "other", "other", 1, 2, 3, 999),
      }),
    },
    { weight: 1, arbitrary: fc.record({ c, do: fc.constant("clear" as const) }) },
    // Conversation: edits (one's own, someone else's, any id) and reactions.
    {
      weight: 3,
      arbitrary: fc.record({
        c,
        do: fc.constant("edit" as const),
        which: fc.constantFrom<"own" | "other" | number>("own", "own", "other", 1, 999),
        text: fc.constantFrom("fixed", "  again  ", "😀", "", "esc\u001b[31m", SECRET),
      }),
    },
    {
      weight: 6,
      arbitrary: fc.record({
        c,
        do: fc.constant("react" as const),
        which: fc.constantFrom<"last" | number>("last", "last", "last", 1, 2, 999),
        emoji: fc.constantFrom("👍", "🎉", "👍", "❤", "👍👍", "ok"),
        on: fc.constantFrom(true, true, false),
      }),
    },
    {
      weight: 3,
      arbitrary: fc.record({
        c: fc.oneof(fc.constant(0), c), // mostly the owner
        do: fc.constant("appoint" as const),
        target: c,
        role: fc.constantFrom("moderator" as const, "member" as const),
      }),
    },
  );
};
/** Each client first tries to join (most of the time under a free name), then
 * random commands. No `chain`, so that fast-check can shrink every part. */
const scenario = fc
  .tuple(
    fc.integer({ min: 2, max: 4 }),
    fc.array(nickValue, { minLength: 4, maxLength: 4 }),
    fc.array(command(4), { minLength: 2, maxLength: 14 }),
  )
  .map(([clients, nicks, rest]) => ({
    clients,
    commands: [
      ...nicks.slice(0, clients).map((nick, c): Command => ({ c, do: "join", nick })),
      ...rest.map((cmd): Command => ({ ...cmd, c: cmd.c % clients })),
    ],
  }));

/** One client slot: its current socket and what it has seen. */
interface Client {
  socket: TestSocket;
  /** Its identity once welcomed; null before, and after the socket closed. */
  me: User | null;
  closed: boolean;
  /** Who is here, as this client has been told (welcome, joined, left, renamed). */
  view: Map<string, string>;
  /** The last message id this client knows of (from welcome, then live). */
  lastId: number;
  /** The slot's last session token and the identity behind it (kept across its sockets). */
  session: string | null;
  identity: User | null;
  /** Reactions sent that change nothing: each may still be refused by the rate limit. */
  quiet: number;
}

const sorted = (entries: Iterable<[string, string]>) => [...entries].sort(([a], [b]) => a.localeCompare(b));

/**
 * Runs one scenario against a fresh room. The model: the messages the room
 * acknowledged (by id), and each client's identity as confirmed to it. After
 * every command, a fresh observer joins with `since: 0`, reads the room's
 * roster and history in its welcome, and leaves; its `left` notice is the
 * barrier after which every joined client must have seen everything before.
 */
async function runScenario({ clients: count, commands }: { clients: number; commands: Command[] }): Promise<void> {
  const room = freshRoom("prop");
  // Slot 0's first join brings the owner key: it owns the room.
  const claim = await exports.default.fetch(`http://chat.test/api/rooms/${room}/claim`, { method: "POST" });
  const { ownerKey } = await claim.json<{ ownerKey: string }>();
  /** The room's log as acknowledged, by id (1..n, gapless): every message,
   * deletion and clear, as first sent. */
  const acked: LogEntry[] = [];
  /** Messages deleted since; where the last clear is (entries before it are gone). */
  const deleted = new Set<number>();
  let clearedAt = 0;
  /** Each message's text now and when it was edited, once edited. */
  const edits = new Map<number, { text: string; ts: number }>();
  /** Each message's reactions now: emoji to user ids, in order. */
  const reactions = new Map<number, Map<string, string[]>>();
  /** The secrets' tails ("ecret3q") of each message's versions, by message id. */
  const secrets = new Map<number, string[]>();
  /** Everyone's role by identity ("member" when absent). */
  const roles = new Map<string, Role>();
  const roleOfId = (id: string): Role => roles.get(id) ?? "member";
  const clients: Client[] = [];
  const open = async (previous?: Client): Promise<Client> => ({
    socket: await TestSocket.open(room),
    me: null,
    closed: false,
    view: new Map(),
    lastId: previous?.lastId ?? 0,
    session: previous?.session ?? null,
    identity: previous?.identity ?? null,
    quiet: 0,
  });
  for (let i = 0; i < count; i++) clients.push(await open());
  const observers = new Set<string>();
  let step = -1;

  /** The room as it must be: every joined, open client, by id. */
  const expectedRoster = () =>
    sorted(clients.filter((k) => k.me !== null && !k.closed).map((k) => [k.me!.id, k.me!.nick]));

  /** A message as the room keeps it now: the sender as id and nickname (the
   * roster has the roles), and nothing but its place once deleted. */
  const asStored = (message: MessageFrame): MessageFrame => {
    const kept = { ...message, from: { id: message.from.id, nick: message.from.nick } };
    const edit = edits.get(message.id);
    if (edit !== undefined) Object.assign(kept, { text: edit.text, edited: edit.ts });
    // A reply's quote says so once the message it answers is deleted, and follows its edits.
    const original = kept.replyTo === undefined ? undefined : edits.get(kept.replyTo.id);
    if (kept.replyTo !== undefined && deleted.has(kept.replyTo.id))
      kept.replyTo = { id: kept.replyTo.id, from: kept.replyTo.from, text: "", deleted: true };
    else if (kept.replyTo !== undefined && original !== undefined)
      kept.replyTo = { ...kept.replyTo, text: quoteText(original.text) };
    const chosen = reactions.get(message.id);
    if (chosen !== undefined && chosen.size > 0) kept.reactions = Object.fromEntries(chosen);
    return deleted.has(message.id) ? tombstone(kept) : kept;
  };
  /** The message `id` as a reply quotes it, or null when it cannot be answered. */
  const quoteOf = (id: number): Quote | null => {
    const entry = acked[id - 1];
    if (entry === undefined || entry.type !== "message" || deleted.has(id) || id < clearedAt) return null;
    const text = edits.get(id)?.text ?? entry.text;
    return { id, from: { id: entry.from.id, nick: entry.from.nick }, text: quoteText(text) };
  };
  /** An edit as the log serves it now: with its message's text now (only
   * the newest edit keeps one), a tombstone once the message is deleted. */
  const editAsStored = (edit: EditedFrame): EditedFrame => {
    if (!deleted.has(edit.target)) return { ...edit, text: edits.get(edit.target)?.text ?? edit.text };
    return { type: "edited", id: edit.id, target: edit.target, text: "", ts: edit.ts, by: edit.by, deleted: true };
  };
  /**
   * The entries firstId..lastId as a welcome or a page must give them now:
   * nothing a clear took, every message as stored now (a deleted one's text
   * never again), and on a first join or a page the messages only.
   */
  const checkHistory = (history: LogEntry[], firstId: number, lastId: number, where: string, messagesOnly: boolean) => {
    const expected = acked
      .filter((entry) => entry.id >= Math.max(firstId, clearedAt) && entry.id <= lastId)
      .filter((entry) => !messagesOnly || entry.type === "message")
      .map((entry) =>
        entry.type === "message" ? asStored(entry) : entry.type === "edited" ? editAsStored(entry) : entry,
      );
    expect(history, where).toEqual(expected);
  };

  /** What the room must answer `k`'s delete, clear or role frame: "ok" or the refusal's code. */
  const outcome = (k: Client, frame: ClientFrame): "ok" | ErrorCode => {
    if (k.me === null) return "not_joined";
    const mine = roleOfId(k.me.id);
    if (frame.type === "clear") return mine === "owner" ? "ok" : "forbidden";
    if (frame.type === "role") {
      if (mine !== "owner") return "forbidden";
      const target = clients.find((o) => !o.closed && o.me?.id === frame.user);
      if (target === undefined) return "not_found";
      return roleOfId(frame.user) === "owner" ? "forbidden" : "ok";
    }
    if (frame.type !== "delete" && frame.type !== "edit" && frame.type !== "react")
      throw new Error(`no outcome for ${frame.type}`);
    const entry = acked[frame.id - 1];
    if (entry === undefined || entry.type !== "message" || deleted.has(entry.id) || entry.id < clearedAt)
      return "not_found";
    if (frame.type === "react") return "ok";
    if (entry.from.id === k.me.id) return "ok";
    if (frame.type === "edit") return "forbidden";
    return ROLE_RANK[mine] >= ROLE_RANK.moderator && ROLE_RANK[mine] > ROLE_RANK[roleOfId(entry.from.id)]
      ? "ok"
      : "forbidden";
  };

  /** Whether `raw` is a valid reaction from `k` that changes nothing (so has no answer). */
  const quietReaction = (k: Client, raw: string | ArrayBuffer): boolean => {
    const parsed = typeof raw === "string" ? parseClientFrame(raw, roomFrameLimits) : null;
    if (parsed?.ok !== true || parsed.frame.type !== "react" || k.me === null) return false;
    const { id, emoji, on } = parsed.frame;
    if (outcome(k, parsed.frame) !== "ok") return false;
    return (reactions.get(id)?.get(emoji)?.includes(k.me.id) ?? false) === on;
  };

  /** The id `which` names for `k`: its own newest live message, someone else's, or the number. */
  const deletionTarget = (k: Client, which: "own" | "other" | number): number => {
    if (typeof which === "number") return which;
    const live = acked.filter(
      (entry): entry is MessageFrame => entry.type === "message" && !deleted.has(entry.id) && entry.id >= clearedAt,
    );
    const mine = (entry: MessageFrame) => entry.from.id === k.identity?.id;
    return live.findLast((entry) => (which === "own" ? mine(entry) : !mine(entry)))?.id ?? 1;
  };

  /** Applies one frame received by `k` to its view, checking it on the way. */
  const see = (k: Client, frame: ServerFrame) => {
    const where = `step ${step}, ${JSON.stringify(frame)}`;
    switch (frame.type) {
      case "message":
      case "edited":
      case "reacted":
      case "deleted":
      case "cleared": {
        // The log's ids are gapless and every client sees the same entry under an id.
        expect(frame.id, `${where}: id after ${k.lastId}`).toBe(k.lastId + 1);
        k.lastId = frame.id;
        const known = acked[frame.id - 1];
        if (known !== undefined) expect(frame, where).toEqual(known);
        else {
          expect(frame.id, where).toBe(acked.length + 1);
          acked.push(frame);
          const secret =
            frame.type === "message" || frame.type === "edited" ? /ecret\d+q/.exec(frame.text)?.[0] : undefined;
          if (secret !== undefined) {
            const target = frame.type === "edited" ? frame.target : frame.id;
            secrets.set(target, [...(secrets.get(target) ?? []), secret]);
          }
          if (frame.type === "deleted") {
            deleted.add(frame.target);
            reactions.delete(frame.target);
          }
          if (frame.type === "cleared") {
            clearedAt = frame.id;
            reactions.clear();
          }
          if (frame.type === "edited") edits.set(frame.target, { text: frame.text, ts: frame.ts });
          if (frame.type === "reacted") {
            const chosen = reactions.get(frame.target) ?? new Map<string, string[]>();
            const users = (chosen.get(frame.emoji) ?? []).filter((id) => id !== frame.user.id);
            if (frame.on) users.push(frame.user.id);
            if (users.length > 0) chosen.set(frame.emoji, users);
            else chosen.delete(frame.emoji);
            reactions.set(frame.target, chosen);
          }
        }
        return;
      }
      case "role":
        // Everyone hears a role change as the model has it.
        expect(frame.user.role ?? "member", where).toBe(roleOfId(frame.user.id));
        if (frame.user.id === k.me?.id) k.me = k.identity = frame.user;
        return;
      case "joined":
        expect(k.me, where).not.toBeNull();
        expect(k.view.has(frame.user.id), where).toBe(false);
        k.view.set(frame.user.id, frame.user.nick);
        return;
      case "left":
        expect(k.me, where).not.toBeNull();
        expect(k.view.get(frame.user.id), where).toBe(frame.user.nick);
        k.view.delete(frame.user.id);
        return;
      case "renamed":
        expect(k.view.get(frame.user.id), where).toBe(frame.from);
        k.view.set(frame.user.id, frame.user.nick);
        if (frame.user.id === k.me?.id) k.me = k.identity = frame.user;
        return;
      case "typing":
        expect(k.view.has(frame.user.id), where).toBe(true);
        expect(frame.user.id, where).not.toBe(k.me?.id);
        return;
      case "error":
        // A reaction that changed nothing has no answer, unless the rate limit refused it.
        if (frame.code === "rate_limited" && k.quiet > 0) {
          k.quiet--;
          return;
        }
        throw new Error(`unexpected frame outside an answer at ${where}`);
      default:
        // welcome, history and error come only as the answer to a command.
        throw new Error(`unexpected frame outside an answer at ${where}`);
    }
  };

  /** Reads `k`'s frames, applying them, until `stop` says one is the answer. */
  const until = async (k: Client, stop: (frame: ServerFrame) => boolean): Promise<ServerFrame> => {
    for (;;) {
      const frame = await k.socket.next();
      if (stop(frame)) return frame;
      see(k, frame);
    }
  };

  /** Is this frame the sender's answer to its own command? */
  const isAnswer = (k: Client) => (f: ServerFrame) =>
    f.type === "welcome" ||
    f.type === "error" ||
    f.type === "history" ||
    (f.type === "message" && k.me !== null && f.from.id === k.me.id) ||
    (f.type === "renamed" && k.me !== null && f.user.id === k.me.id) ||
    ((f.type === "deleted" || f.type === "cleared" || f.type === "role" || f.type === "edited") &&
      k.me !== null &&
      f.by.id === k.me.id) ||
    (f.type === "reacted" && k.me !== null && f.user.id === k.me.id);

  const welcomed = (k: Client, welcome: WelcomeFrame, since: number | undefined) => {
    const where = `step ${step}: welcome`;
    k.me = k.identity = welcome.you;
    k.session = welcome.session;
    // Roles belong to identities: what the room says of us is what the model has.
    expect(welcome.you.role ?? "member", where).toBe(roleOfId(welcome.you.id));
    k.view = new Map(welcome.users.map((u) => [u.id, u.nick]));
    expect(k.view.get(welcome.you.id), where).toBe(welcome.you.nick);
    expect(welcome.truncated, where).toBeUndefined();
    // Small runs: every message fits in HISTORY_ON_JOIN (20) and HISTORY_ON_RESUME (30).
    const firstId = since === undefined ? 1 : Math.min(since, acked.length) + 1;
    checkHistory(welcome.history, firstId, acked.length, where, since === undefined);
    k.lastId = acked.length;
  };

  /** The barrier and the room-wide checks, after every command. */
  const observe = async () => {
    const where = `after step ${step} (${JSON.stringify(commands[step])})`;
    const observer = await TestSocket.open(room);
    const welcome = await observer.joinAs(`Observer-${step + 1}`, { since: 0 });
    observers.add(welcome.you.id);
    // The roster is exactly the joined, open clients (and the observer).
    expect(
      sorted(welcome.users.filter((u) => u.id !== welcome.you.id).map((u) => [u.id, u.nick])),
      `roster ${where}`,
    ).toEqual(expectedRoster());
    // The whole log, in order: every message as stored now, every deletion and clear.
    checkHistory(welcome.history, 1, acked.length, `history ${where}`, false);
    // Everyone's role is the model's.
    for (const user of welcome.users)
      if (user.id !== welcome.you.id) expect(user.role ?? "member", `role ${where}`).toBe(roleOfId(user.id));
    observer.close();
    await observer.closeEvent();
    for (const k of clients) {
      if (k.closed || k.me === null) continue;
      await until(k, (f) => f.type === "left" && f.user.id === welcome.you.id).catch((error: unknown) => {
        if (!String(error).includes("no frame within")) throw error;
        throw new Error(`${k.me?.nick} never saw the observer leave ${where}: ${String(error)}`);
      });
      k.view.delete(welcome.you.id);
      // Each client has been told exactly who is here now.
      expect(sorted(k.view), `view of ${k.me.nick} ${where}`).toEqual(expectedRoster());
      expect(k.lastId, `last id of ${k.me.nick} ${where}`).toBe(acked.length);
    }
    // No version of a deleted (or cleared) message's text, in what a
    // stranger from the start gets or anywhere in SQLite (the search index's pages too).
    const gone = [...secrets].filter(([id]) => deleted.has(id) || id < clearedAt).flatMap(([, tails]) => tails);
    if (gone.length > 0) {
      const served = JSON.stringify(welcome);
      const stored = await databaseText(room);
      for (const tail of gone) {
        expect(served, `${where}: ${tail} served`).not.toContain(tail);
        expect(stored, `${where}: ${tail} stored`).not.toContain(tail);
      }
    }
    // Straight from SQLite: the stored messages, a deleted one's text gone, nothing before a clear.
    const rows = await runInDurableObject(env.ROOMS.getByName(room), (_instance, state) =>
      state.storage.sql
        .exec<{ id: number; text: string; user_id: string; cid: string | null }>(
          "SELECT id, text, user_id, cid FROM messages ORDER BY id",
        )
        .toArray(),
    );
    expect(
      rows.map((r) => [r.id, r.text, r.user_id, r.cid]),
      `stored ${where}`,
    ).toEqual(
      acked
        .filter((m): m is MessageFrame => m.type === "message" && m.id >= clearedAt)
        .map((m) => [m.id, deleted.has(m.id) ? "" : (edits.get(m.id)?.text ?? m.text), m.from.id, m.cid ?? null]),
    );
  };

  try {
    for (step = 0; step < commands.length; step++) {
      const cmd = commands[step]!;
      let k = clients[cmd.c]!;
      if (k.closed) {
        k = await open(k);
        clients[cmd.c] = k;
      }
      const where = `step ${step} ${JSON.stringify(cmd)}`;
      let raw: string | ArrayBuffer;
      switch (cmd.do) {
        case "join":
          raw = JSON.stringify({
            type: "join",
            nick: cmd.nick,
            since: cmd.since,
            ownerKey: cmd.c === 0 && step === 0 ? ownerKey : undefined,
          });
          break;
        case "delete":
          raw = JSON.stringify({ type: "delete", id: deletionTarget(k, cmd.which) });
          break;
        case "clear":
          raw = JSON.stringify({ type: "clear" });
          break;
        case "edit":
          raw = JSON.stringify({
            type: "edit",
            id: deletionTarget(k, cmd.which),
            text: cmd.text === SECRET ? secretOf(step) : cmd.text,
          });
          break;
        case "react": {
          const last = acked.findLast((entry) => entry.type === "message" && !deleted.has(entry.id))?.id ?? 1;
          raw = JSON.stringify({
            type: "react",
            id: cmd.which === "last" ? last : cmd.which,
            emoji: cmd.emoji,
            on: cmd.on,
          });
          break;
        }
        case "appoint":
          raw = JSON.stringify({ type: "role", user: clients[cmd.target]?.me?.id ?? "nobody", role: cmd.role });
          break;
        case "message": {
          const cid = { none: undefined, unique: `m${step}`, long: "c".repeat(65), number: 5 }[cmd.cid];
          const lastMessage = acked.findLast((entry) => entry.type === "message")?.id ?? 1;
          const replyTo = cmd.replyTo === "last" ? lastMessage : cmd.replyTo;
          const text = cmd.text === SECRET ? secretOf(step) : cmd.text;
          raw = JSON.stringify({ type: "message", text, cid, action: cmd.action, replyTo });
          break;
        }
        case "nick":
          raw = JSON.stringify({ type: "nick", nick: cmd.nick });
          break;
        case "typing":
          raw = JSON.stringify({ type: "typing" });
          break;
        case "history":
          raw = JSON.stringify({ type: "history", before: cmd.before });
          break;
        case "garbage":
        case "flood":
          raw = cmd.raw;
          break;
        case "binary":
          raw = new Uint8Array([123, 125]).buffer;
          break;
        case "oversize":
          raw = JSON.stringify({ type: "message", text: "y".repeat(17_000) });
          break;
        case "close":
        case "rejoin":
          raw = "";
          break;
      }

      if (cmd.do === "rejoin") {
        if (k.session === null || k.identity === null) {
          await observe(); // nothing to re-claim yet
          continue;
        }
        const takeover = k.me !== null;
        const target = takeover ? await open(k) : k;
        const since = takeover ? undefined : k.lastId;
        target.socket.send({ type: "join", nick: "Ignored", session: k.session, since });
        const answer = await until(target, isAnswer(target));
        const holder = clients.find(
          (o) => o !== k && !o.closed && o.me !== null && nickKey(o.me.nick) === nickKey(k.identity!.nick),
        );
        if (holder !== undefined) {
          expect(answer, `${where}: ${k.identity.nick} is taken by ${holder.me!.nick}`).toMatchObject({
            type: "error",
            code: "nick_taken",
          });
          if (takeover) throw new Error("two clients hold one nickname");
        } else if (answer.type === "error") {
          expect(answer.code, where).toBe("rate_limited");
        } else {
          expect(answer.type, where).toBe("welcome");
          const welcome = answer as WelcomeFrame;
          // The same identity comes back, with the session the client sent.
          expect(welcome.you, where).toEqual(k.identity);
          expect(welcome.session, where).toBe(k.session);
          welcomed(target, welcome, since);
          if (takeover) {
            // The old socket is closed with 4001, silently for everyone else.
            expect(await k.socket.closeEvent(), where).toMatchObject({ code: 4001 });
            k.closed = true;
            k.me = null;
            clients[cmd.c] = target;
          }
        }
        if (takeover && target !== clients[cmd.c]) target.socket.close(); // a refused take-over: drop the extra socket
      } else if (cmd.do === "close") {
        k.socket.close();
        await k.socket.closeEvent();
        k.closed = true;
      } else if (cmd.do === "flood") {
        // More refused frames than MAX_REFUSALS (30), at once: cut off with
        // a last word, and nobody else affected (the observer checks).
        for (let i = 0; i < 45; i++) k.socket.ws.send(cmd.raw);
        expect((await k.socket.closeEvent(5000)).code, where).toBe(1008);
        expect(k.socket.raw.at(-1), where).toContain("too_many_errors");
        k.closed = true;
      } else if (cmd.do === "typing" && k.me !== null) {
        k.socket.ws.send(raw); // no answer to the typist; the barrier catches any error
      } else if (quietReaction(k, raw)) {
        // Asking for what is already so: no entry and no answer (the barrier checks).
        k.quiet++;
        k.socket.ws.send(raw);
      } else {
        const parsed = typeof raw === "string" ? parseClientFrame(raw, roomFrameLimits) : null;
        // Moderation's outcome, from the model as it is when the frame goes.
        const moderation =
          parsed?.ok === true && ["delete", "clear", "role", "edit", "react"].includes(parsed.frame.type)
            ? outcome(k, parsed.frame)
            : null;
        // A reply's quote, likewise (null: nothing to answer).
        const quote =
          parsed?.ok === true && parsed.frame.type === "message" && parsed.frame.replyTo !== undefined
            ? quoteOf(parsed.frame.replyTo)
            : undefined;
        k.socket.ws.send(raw);
        const answer = await until(k, isAnswer(k));
        // Who else here has this nickname (nicknames are unique, compared by their key).
        const holder = (nick: string) =>
          clients.find((o) => o !== k && !o.closed && o.me !== null && nickKey(o.me.nick) === nickKey(nick));
        if (cmd.do === "oversize") {
          expect(answer, where).toMatchObject({ type: "error", code: "too_long" });
          expect((await k.socket.closeEvent()).code, where).toBe(1009);
          k.closed = true;
        } else if (answer.type === "error") {
          // No handler may throw; a refusal is one the rules explain.
          expect(answer.code, where).not.toBe("internal");
          if (answer.code !== "rate_limited") {
            if (parsed === null) expect(answer.code, where).toBe("bad_frame");
            else if (!parsed.ok) expect(answer.code, where).toBe(parsed.code);
            else if (parsed.frame.type === "join") {
              expect(answer.code, where).toBe(
                k.me !== null
                  ? "already_joined"
                  : holder(parsed.frame.nick) !== undefined
                    ? "nick_taken"
                    : "(no refusal)",
              );
            } else if (k.me === null) expect(answer.code, where).toBe("not_joined");
            else if (parsed.frame.type === "nick")
              expect(holder(parsed.frame.nick), `${where}: nick_taken, but nobody has it`).toBeDefined();
            else if (parsed.frame.type === "signal")
              expect(answer.code, where).toBe("not_in_call"); // nobody here is in a call
            else if (moderation !== null) expect(answer.code, where).toBe(moderation);
            else if (quote === null) expect(answer.code, where).toBe("not_found");
            else throw new Error(`${where}: refused a valid frame: ${JSON.stringify(answer)}`);
          }
          if (parsed?.ok === true && parsed.frame.type === "message" && parsed.frame.cid !== undefined)
            expect(answer.cid, where).toBe(parsed.frame.cid);
        } else {
          // Accepted: only what the parser accepts, with what it made of it.
          expect(parsed?.ok, `${where}: accepted ${JSON.stringify(answer)}`).toBe(true);
          const frame = (parsed as { ok: true; frame: ClientFrame }).frame;
          expect(answer.type, where).toBe(
            {
              join: "welcome",
              nick: "renamed",
              message: "message",
              history: "history",
              typing: "(none)",
              call: "call",
              signal: "(none)",
              role: "role",
              kick: "left",
              ban: "left",
              bans: "bans",
              unban: "bans",
              settings: "settings",
              modlog: "modlog",
              rotate: "rotated",
              delete: "deleted",
              react: "reacted",
              reactions: "reactions",
              search: "results",
              clear: "cleared",
              edit: "edited",
            }[frame.type],
          );
          // Nicknames stay unique: nobody else here has the accepted one.
          if (frame.type === "join" || frame.type === "nick")
            expect(holder(frame.nick)?.me, `${where}: name already taken`).toBeUndefined();
          if (answer.type === "welcome" && frame.type === "join") {
            expect(answer.you.nick, where).toBe(frame.nick);
            // The owner key (slot 0's first join) makes that identity the owner.
            if (frame.ownerKey !== undefined) roles.set(answer.you.id, "owner");
            welcomed(k, answer, frame.since);
          } else if (answer.type === "message" && frame.type === "message") {
            expect(quote, `${where}: a reply to nothing was accepted`).not.toBeNull();
            expect(answer.replyTo, where).toEqual(quote);
            see(k, answer);
            expect(answer.text, where).toBe(frame.text);
            expect(answer.cid, where).toBe(frame.cid);
          } else if (answer.type === "renamed" && frame.type === "nick") {
            expect(answer.user.nick, where).toBe(frame.nick);
            see(k, answer);
          } else if (answer.type === "history" && frame.type === "history") {
            expect(answer.before, where).toBe(frame.before);
            checkHistory(answer.messages, 1, Math.min(frame.before - 1, acked.length), where, true);
            expect(answer.complete, where).toBe(true);
          } else if (moderation !== null) {
            expect(moderation, `${where}: accepted ${JSON.stringify(answer)}`).toBe("ok");
            if (answer.type === "deleted" && frame.type === "delete") expect(answer.target, where).toBe(frame.id);
            if (answer.type === "role" && frame.type === "role") roles.set(frame.user, frame.role);
            if (answer.type === "edited" && frame.type === "edit") expect(answer.text, where).toBe(frame.text);
            if (answer.type === "reacted" && frame.type === "react")
              expect([answer.target, answer.emoji, answer.on], where).toEqual([frame.id, frame.emoji, frame.on]);
            see(k, answer);
          }
        }
      }
      await observe();
    }
  } finally {
    for (const k of clients) if (!k.closed) k.socket.close();
  }
}

/** A scenario run every time besides the random ones: two people react
 * with the same emoji, take one back, repeat one (no answer), reply, then
 * edit the message replied to. */
const conversation: { clients: number; commands: Command[] } = {
  clients: 2,
  commands: [
    { c: 0, do: "join", nick: "Ana" },
    { c: 1, do: "join", nick: "Bo" },
    { c: 0, do: "message", text: "hi", cid: "unique", action: undefined },
    { c: 1, do: "react", which: "last", emoji: "👍", on: true },
    { c: 0, do: "react", which: "last", emoji: "👍", on: true },
    { c: 0, do: "react", which: "last", emoji: "🎉", on: true },
    { c: 0, do: "react", which: "last", emoji: "❤", on: true },
    { c: 1, do: "react", which: "last", emoji: "👍", on: false },
    { c: 0, do: "react", which: "last", emoji: "🎉", on: true },
    { c: 1, do: "react", which: "last", emoji: "👍", on: true },
    { c: 1, do: "message", text: "hey", cid: "unique", action: undefined, replyTo: 1 },
    { c: 0, do: "edit", which: "own", text: "  hello  " },
    { c: 1, do: "edit", which: "other", text: "hijacked" },
    { c: 1, do: "rejoin" },
    { c: 0, do: "delete", which: "own" },
  ],
};

/** A scenario run every time: a secret message, quoted by a reply, edited
 * to another secret, reacted to, then deleted: neither secret may be left
 * in anything served or stored; then one more, cleared. */
const deletion: { clients: number; commands: Command[] } = {
  clients: 2,
  commands: [
    { c: 0, do: "join", nick: "Ana" },
    { c: 1, do: "join", nick: "Bo" },
    { c: 0, do: "message", text: SECRET, cid: "unique", action: undefined },
    { c: 1, do: "message", text: "hi", cid: "unique", action: undefined, replyTo: "last" },
    { c: 0, do: "edit", which: "own", text: SECRET },
    { c: 1, do: "react", which: 1, emoji: "👍", on: true },
    { c: 0, do: "delete", which: "own" },
    { c: 1, do: "rejoin" },
    { c: 1, do: "message", text: SECRET, cid: "unique", action: undefined },
    { c: 0, do: "clear" },
  ],
};

describe("the room under random interleavings (property)", () => {
  it("keeps its invariants: no internal error, refusals change nothing, a gapless log, true roster and roles, deleted text never served", async () => {
    await fc.assert(fc.asyncProperty(scenario, runScenario), { numRuns: 40, examples: [[conversation], [deletion]] });
  }, 180_000);
});

// ---------------------------------------------------------------------------
// 3. The sender against a model
// ---------------------------------------------------------------------------

type SenderOp =
  | { op: "join" | "leave" | "rename" | "send" | "close"; socket: number }
  | { op: "broadcast"; urgent: boolean; except: number | null }
  | { op: "retract" }
  | { op: "flush"; all: boolean };

const SENDER_SOCKETS = 4;
const senderSocket = fc.nat({ max: SENDER_SOCKETS - 1 });
const senderOp: fc.Arbitrary<SenderOp> = fc.oneof(
  {
    arbitrary: fc.record({
      op: fc.constantFrom("join" as const, "leave" as const, "rename" as const, "send" as const, "close" as const),
      socket: senderSocket,
    }),
    weight: 4,
  },
  {
    arbitrary: fc.record({
      op: fc.constant("broadcast" as const),
      urgent: fc.boolean(),
      except: fc.option(senderSocket),
    }),
    weight: 6,
  },
  { arbitrary: fc.record({ op: fc.constant("retract" as const) }), weight: 1 },
  { arbitrary: fc.record({ op: fc.constant("flush" as const), all: fc.boolean() }), weight: 3 },
);

/** The plainest sender: a queue per socket, flushed whole. What Connections must be indistinguishable from. */
class ModelSender {
  readonly queues: string[][] = Array.from({ length: SENDER_SOCKETS }, () => []);
  readonly urgent = new Array<boolean>(SENDER_SOCKETS).fill(false);
  readonly member = new Array<boolean>(SENDER_SOCKETS).fill(false);
  readonly closed = new Array<boolean>(SENDER_SOCKETS).fill(false);
  readonly delivered: string[][] = Array.from({ length: SENDER_SOCKETS }, () => []);

  queue(socket: number, payload: string, urgent: boolean): void {
    this.queues[socket]!.push(payload);
    if (urgent) this.urgent[socket] = true;
  }
  deliver(socket: number): void {
    const queue = this.queues[socket]!;
    if (queue.length > 0 && !this.closed[socket])
      this.delivered[socket]!.push(queue.length === 1 ? queue[0]! : `[${queue.join(",")}]`);
    this.queues[socket] = [];
    this.urgent[socket] = false;
  }
}

describe("the room's sender against a queue per socket (property)", () => {
  it("sends every socket the same messages, batched the same way, in the same order", async () => {
    const property = fc.asyncProperty(fc.array(senderOp, { minLength: 1, maxLength: 40 }), async (ops) => {
      const stub = env.ROOMS.getByName(freshRoom("sender"));
      const { expected, received } = await runInDurableObject(stub, async (_instance, ctx) => {
        const sockets = new Connections(ctx, () => {});
        const model = new ModelSender();
        const pairs = Array.from({ length: SENDER_SOCKETS }, () => new WebSocketPair());
        const server = (i: number) => pairs[i]![1];
        for (let i = 0; i < SENDER_SOCKETS; i++) {
          sockets.accept(server(i), {
            user: null,
            sessionHash: null,
            ip: null,
            openedAt: 0,
            bucket: { tokens: 0, at: 0 },
            typingAt: 0,
          });
        }
        const received: string[][] = pairs.map(() => []);
        const ended = pairs.map(({ 0: client }, i) => {
          client.accept();
          return new Promise<void>((resolve) => {
            client.addEventListener("message", (event) => {
              if (event.data === "end") resolve();
              else received[i]!.push(event.data as string);
            });
            client.addEventListener("close", () => resolve());
          });
        });
        let next = 0;
        let sinceFlush: string[] = [];
        // All in one synchronous run: no scheduled flush can fire in between.
        for (const step of ops) {
          switch (step.op) {
            case "join":
              if (model.member[step.socket] || model.closed[step.socket]) break;
              sockets.join(server(step.socket), { id: `u${step.socket}`, nick: `N${step.socket}` }, `h${step.socket}`);
              model.member[step.socket] = true;
              break;
            case "leave":
              if (!model.member[step.socket]) break;
              sockets.leave(server(step.socket));
              model.member[step.socket] = false;
              break;
            case "rename":
              if (model.member[step.socket])
                sockets.update(server(step.socket), { id: `u${step.socket}`, nick: `R${++next}` });
              break;
            case "send": {
              const frame: ServerFrame = { type: "error", code: "bad_frame", message: `direct ${++next}` };
              sockets.send(server(step.socket), frame);
              model.queue(step.socket, JSON.stringify(frame), true);
              break;
            }
            case "close":
              if (model.closed[step.socket]) break;
              sockets.close(server(step.socket));
              model.deliver(step.socket);
              model.closed[step.socket] = true;
              break;
            case "broadcast": {
              const frame: ServerFrame = step.urgent
                ? { type: "message", id: ++next, ts: 0, from: { id: "x", nick: "X" }, text: "m" }
                : { type: "typing", user: { id: `t${++next}`, nick: "T" } };
              const payload = sockets.broadcast(frame, step.except === null ? undefined : server(step.except));
              expect(payload).toBe(JSON.stringify(frame));
              for (let i = 0; i < SENDER_SOCKETS; i++)
                if (model.member[i] && i !== step.except) model.queue(i, payload, step.urgent);
              sinceFlush.push(payload);
              break;
            }
            case "retract": {
              // What the room retracts: the messages of a turn no flush has sent.
              const taken = new Set(sinceFlush);
              sockets.retract(taken);
              for (let i = 0; i < SENDER_SOCKETS; i++) {
                model.queues[i] = model.queues[i]!.filter((payload) => !taken.has(payload));
                if (model.queues[i]!.length === 0) model.urgent[i] = false;
              }
              sinceFlush = [];
              break;
            }
            case "flush":
              sockets.flush(step.all);
              for (let i = 0; i < SENDER_SOCKETS; i++) if (step.all || model.urgent[i]) model.deliver(i);
              sinceFlush = [];
              break;
          }
        }
        sockets.flush(true);
        for (let i = 0; i < SENDER_SOCKETS; i++) model.deliver(i);
        // A last message on every open socket: anything extra arrives before it.
        for (let i = 0; i < SENDER_SOCKETS; i++) if (!model.closed[i]) server(i).send("end");
        await Promise.all(ended);
        for (let i = 0; i < SENDER_SOCKETS; i++) if (!model.closed[i]) server(i).close();
        return { expected: model.delivered, received };
      });
      expect(received).toEqual(expected);
    });
    await fc.assert(property, { numRuns: 1000 });
  }, 180_000);
});
