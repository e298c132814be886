/**
 * The protocol module on its own: the parsing every side of the wire shares.
 * (Room-name rules are in worker.test.ts, next to the routes that use them.)
 */
import { describe, expect, it } from "vitest";
import {
  MAX_COMBINING_MARKS,
  MAX_JSON_DEPTH,
  codePointLength,
  nickKey,
  parseClientFrame,
  parseNick,
  parseServerMessage,
  utf8Length,
  type FrameLimits,
} from "../src/shared/protocol";

const limits: FrameLimits = { messageLength: 10, nickLength: 5 };

describe("lengths", () => {
  it("counts code points, a surrogate pair as one", () => {
    expect(codePointLength("")).toBe(0);
    expect(codePointLength("abc")).toBe(3);
    expect(codePointLength("😀😀")).toBe(2);
    expect(codePointLength("\ud800x")).toBe(2); // a lone surrogate still counts
  });

  it("measures UTF-8 bytes like TextEncoder does", () => {
    for (const text of ["", "ascii", "é", "€", "😀", "mixed é€😀 text", "\ud800", "\udc00\ud800"]) {
      // TextEncoder writes a lone surrogate as U+FFFD: 3 bytes, as counted here.
      expect(utf8Length(text), JSON.stringify(text)).toBe(new TextEncoder().encode(text).byteLength);
    }
  });
});

describe("parseNick", () => {
  it("trims and NFC-normalises", () => {
    expect(parseNick("  Ze\u0301  ", 5)).toEqual({ ok: true, nick: "Z\u00e9" });
  });

  it("counts the limit in characters after normalising", () => {
    expect(parseNick("e\u0301".repeat(5), 5)).toMatchObject({ ok: true }); // 10 code points before NFC, 5 after
    expect(parseNick("abcdef", 5)).toMatchObject({ ok: false });
    expect(parseNick("😀😀😀😀😀", 5)).toMatchObject({ ok: true });
  });

  it.each([
    ["bidi override", "a\u202eb"],
    ["bidi isolate", "a\u2066b"],
    ["zero-width joiner", "a\u200db"],
    ["zero-width space", "a\u200bb"],
    ["BOM inside", "a\ufeffb"],
    ["soft hyphen", "a\u00adb"],
    ["NUL", "a\u0000b"],
    ["DEL", "a\u007fb"],
    ["C1 control", "a\u0085b"],
    ["tab", "a\tb"],
    ["paragraph separator", "a\u2029b"],
    ["Hangul choseong filler", "Alice\u115f"],
    ["Hangul jungseong filler", "Alice\u1160"],
    ["Hangul filler", "Alice\u3164"],
    ["half-width Hangul filler", "Alice\uffa0"],
    ["blank Braille pattern", "Alice\u2800"],
    ["combining grapheme joiner", "Ali\u034fce"],
    ["variation selector on a letter", "Alice\ufe0f"],
    ["Mongolian vowel separator", "Ali\u180ece"],
    ["tag character", "Alice\u{e0041}"],
    ["lone Hangul filler", "\u3164"],
    ["lone blank Braille pattern", "\u2800"],
  ])("refuses a %s", (_, nick) => {
    expect(parseNick(nick, 32)).toMatchObject({ ok: false });
  });

  it("keeps a variation selector that picks an emoji's presentation", () => {
    expect(parseNick("\u2764\ufe0f Ana", 32)).toEqual({ ok: true, nick: "\u2764\ufe0f Ana" });
  });

  it("compares nicks case- and width-insensitively", () => {
    expect(nickKey("Kartik")).toBe(nickKey("KARTIK"));
    expect(nickKey("Kartik")).toBe(nickKey("\uff2b\uff41\uff52\uff54\uff49\uff4b"));
    expect(nickKey("Kartik")).not.toBe(nickKey("Kartika"));
  });

  it.each([
    ["Cyrillic А", "Alice", "\u0410lice"],
    ["Cyrillic е and о", "Joe", "J\u043e\u0435"],
    ["Greek Ο and Cyrillic р", "Oprah", "\u039f\u0440rah"],
    ["Cyrillic Н, Т and Greek Μ", "HTML", "\u041d\u0422\u039cL"],
    ["Armenian օ", "Bob", "B\u0585b"],
    ["digit one for l", "Alice", "A1ice"],
    ["capital I for l", "Alice", "AIice"],
    ["digit zero for O", "Otto", "0tto"],
    ["rn for m", "Emma", "Ernrna"],
    ["vv for w", "Wes", "VVes"],
    ["an accent", "Alice", "Alic\u00e9"],
    ["stacked accents", "Alice", "A\u0301\u0302lice"],
    ["dotless i", "Bill", "B\u0131ll"],
    ["a dash look-alike", "Jean-Luc", "Jean\u2010Luc"],
    ["doubled space", "Mary Ann", "Mary  Ann"],
    ["the Kelvin sign", "Kim", "\u212aim"],
    ["mathematical bold", "Bob", "\ud835\udc01\ud835\udc28\ud835\udc1b"],
    ["Lisu ꓮ", "Alice", "\ua4eelice"],
    ["Cherokee Ꭺ", "Alice", "\u13aalice"],
    ["small capital ᴀ", "Alice", "\u1d00lice"],
    ["dental click ǀ for l", "Alice", "A\u01c0ice"],
    ["Cherokee and capital I", "Alice", "\u13aaIice"],
    ["Greek ο in a lower-case nick", "bob", "b\u03bfb"],
  ])("treats a look-alike with %s as the same nick", (_, nick, lookAlike) => {
    expect(nickKey(lookAlike)).toBe(nickKey(nick));
  });

  it.each([
    ["Alice", "Alina"],
    ["Ana", "Anna"],
    ["Bob", "Rob"],
    ["Dan", "Dana"],
    ["Jean-Luc", "JeanLuc"],
    ["Kartik", "Kartik2"],
  ])("keeps %j and %j apart", (a, b) => {
    expect(nickKey(a)).not.toBe(nickKey(b));
  });

  it(`allows ${MAX_COMBINING_MARKS} combining marks on a character, not more`, () => {
    // x with a grave below has no precomposed form: every mark survives NFC and counts.
    const marks = (count: number) => "\u0316".repeat(count);
    expect(parseNick(`x${marks(MAX_COMBINING_MARKS)}`, 32)).toMatchObject({ ok: true });
    expect(parseNick(`x${marks(MAX_COMBINING_MARKS + 1)}`, 32)).toMatchObject({
      ok: false,
      message: expect.stringMatching(/combining marks/),
    });
    // Real writing with several marks per letter is fine.
    for (const nick of [
      "Vi\u1ec7t",
      "\u0928\u092e\u0938\u094d\u0924\u0947",
      "\u05e9\u05b8\u05c1\u05dc\u05d5\u05b9\u05dd",
    ]) {
      expect(parseNick(nick, 32), nick).toMatchObject({ ok: true });
    }
  });
});

describe("parseClientFrame", () => {
  it("reads each client frame into its typed form", () => {
    expect(parseClientFrame('{"type":"join","nick":" Ann "}', limits)).toEqual({
      ok: true,
      frame: { type: "join", nick: "Ann" },
    });
    expect(parseClientFrame('{"type":"join","nick":"Ann","since":0,"session":"t"}', limits)).toEqual({
      ok: true,
      frame: { type: "join", nick: "Ann", since: 0, session: "t" },
    });
    expect(parseClientFrame('{"type":"message","text":" hi ","cid":"c"}', limits)).toEqual({
      ok: true,
      frame: { type: "message", text: "hi", cid: "c" },
    });
    expect(parseClientFrame('{"type":"typing"}', limits)).toEqual({ ok: true, frame: { type: "typing" } });
    expect(parseClientFrame('{"type":"nick","nick":"Bo"}', limits)).toEqual({
      ok: true,
      frame: { type: "nick", nick: "Bo" },
    });
  });

  it("ignores unknown fields", () => {
    expect(parseClientFrame('{"type":"message","text":"hi","from":{"id":"x","nick":"admin"},"v":2}', limits)).toEqual({
      ok: true,
      frame: { type: "message", text: "hi" },
    });
  });

  it.each([
    ["{", "bad_json"],
    ["", "bad_json"],
    ["ping", "bad_json"],
    ["[]", "bad_frame"],
    ["42", "bad_frame"],
    ['{"type":"MESSAGE","text":"hi"}', "bad_frame"],
    ['{"type":"message"}', "bad_frame"],
    ['{"type":"message","text":""}', "bad_frame"],
    ['{"type":"message","text":"   "}', "bad_frame"],
    ['{"type":"message","text":"01234567890"}', "too_long"],
    ['{"type":"message","text":"a\\u0000b"}', "bad_frame"],
    ['{"type":"message","text":"a\\ud800b"}', "bad_frame"],
    ['{"type":"message","text":"a\\u0085b"}', "bad_frame"], // C1: next line
    ['{"type":"message","text":"a\\u009b2Jb"}', "bad_frame"], // C1: 8-bit CSI
    ['{"type":"message","text":"a\\u009d0;x\\u009cb"}', "bad_frame"], // C1: 8-bit OSC
    ['{"type":"message","text":"a\\u202eb"}', "bad_frame"], // right-to-left override
    ['{"type":"message","text":"a\\u202ab"}', "bad_frame"], // left-to-right embedding
    ['{"type":"message","text":"a\\u2067b"}', "bad_frame"], // right-to-left isolate
    ['{"type":"message","text":"a\\u200fb"}', "ok"], // a right-to-left mark is for writing, not hiding
    ['{"type":"message","text":"hi","cid":""}', "ok"],
    ['{"type":"message","text":"hi","cid":null}', "bad_frame"],
    ['{"type":"join"}', "bad_frame"],
    ['{"type":"join","nick":"toolong"}', "nick_invalid"],
    ['{"type":"join","nick":"Ann","since":1e300}', "bad_frame"],
    ['{"type":"join","nick":"Ann","since":null}', "bad_frame"],
    ['{"type":"join","nick":"Ann","session":null}', "bad_frame"],
    ['{"type":"nick","nick":""}', "nick_invalid"],
  ])("%s → %s", (raw, expected) => {
    const parsed = parseClientFrame(raw, limits);
    expect(parsed.ok ? "ok" : parsed.code).toBe(expected);
  });

  it(`refuses a message with more than ${MAX_COMBINING_MARKS} combining marks on a character`, () => {
    const big: FrameLimits = { messageLength: 4000, nickLength: 32 };
    const frame = (text: string) => JSON.stringify({ type: "message", text, cid: "z" });
    // 4,000 characters of nothing but combining marks: within the length limit, still refused.
    expect(parseClientFrame(frame("\u0301".repeat(4000)), big)).toMatchObject({
      ok: false,
      code: "bad_frame",
      cid: "z",
      message: expect.stringMatching(/combining marks/),
    });
    expect(parseClientFrame(frame(`Z${"\u0336".repeat(3999)}`), big)).toMatchObject({ ok: false, code: "bad_frame" });
    // One heavily accented letter per word is fine: the limit is per character.
    const accented = `a${"\u0300".repeat(MAX_COMBINING_MARKS)} `.repeat(200);
    expect(parseClientFrame(frame(accented), big)).toMatchObject({ ok: true });
  });

  it(`refuses frames nested more than ${MAX_JSON_DEPTH} levels deep, unknown fields included`, () => {
    const nested = (levels: number) => "[".repeat(levels) + "]".repeat(levels);
    // The frame is level 1, so its fields may nest MAX_JSON_DEPTH - 1 more.
    const ok = `{"type":"message","text":"hi","extra":${nested(MAX_JSON_DEPTH - 1)}}`;
    expect(parseClientFrame(ok, limits)).toMatchObject({ ok: true });
    const deep = `{"type":"message","text":"hi","cid":"d","extra":${nested(MAX_JSON_DEPTH)}}`;
    expect(parseClientFrame(deep, limits)).toMatchObject({
      ok: false,
      code: "bad_frame",
      cid: "d",
      message: expect.stringMatching(/levels deep/),
    });
    const objects = `{"type":"typing","x":${'{"a":'.repeat(MAX_JSON_DEPTH)}1${"}".repeat(MAX_JSON_DEPTH)}}`;
    expect(parseClientFrame(objects, limits)).toMatchObject({ ok: false, code: "bad_frame" });
    // A parser bomb of the largest frame size is parsed and refused, not crashed on.
    expect(parseClientFrame(`{"type":"typing","x":${nested(8000)}}`, limits)).toMatchObject({
      ok: false,
      code: "bad_frame",
    });
  });

  it("returns the cid of a refused message so the sender can match it", () => {
    expect(parseClientFrame('{"type":"message","text":"01234567890","cid":"c9"}', limits)).toMatchObject({
      ok: false,
      code: "too_long",
      cid: "c9",
    });
  });
});

describe("parseServerMessage", () => {
  it("reads a single frame or a batch, skips pong and unknown types", () => {
    const left = { type: "left", user: { id: "u", nick: "n" } };
    expect(parseServerMessage(JSON.stringify(left))).toEqual([left]);
    expect(parseServerMessage(JSON.stringify([left, { type: "future-frame" }, left]))).toEqual([left, left]);
    expect(parseServerMessage("pong")).toEqual([]);
  });
});
