/**
 * The protocol module on its own: the parsing every side of the wire shares.
 * (Room-name rules are in worker.test.ts, next to the routes that use them.)
 */
import { describe, expect, it } from "vitest";
import {
  codePointLength,
  nickKey,
  parseClientFrame,
  parseNick,
  parseServerMessage,
  utf8Length,
  type FrameLimits,
} from "../src/protocol";

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
  ])("refuses a %s", (_, nick) => {
    expect(parseNick(nick, 5)).toMatchObject({ ok: false });
  });

  it("compares nicks case- and width-insensitively", () => {
    expect(nickKey("Kartik")).toBe(nickKey("KARTIK"));
    expect(nickKey("Kartik")).toBe(nickKey("\uff2b\uff41\uff52\uff54\uff49\uff4b"));
    expect(nickKey("Kartik")).not.toBe(nickKey("Kartika"));
  });
});

describe("parseClientFrame", () => {
  it("reads each client frame into its typed form", () => {
    expect(parseClientFrame('{"type":"join","nick":" Ann "}', limits)).toEqual({ ok: true, frame: { type: "join", nick: "Ann" } });
    expect(parseClientFrame('{"type":"join","nick":"Ann","since":0,"session":"t"}', limits)).toEqual({
      ok: true,
      frame: { type: "join", nick: "Ann", since: 0, session: "t" },
    });
    expect(parseClientFrame('{"type":"message","text":" hi ","cid":"c"}', limits)).toEqual({
      ok: true,
      frame: { type: "message", text: "hi", cid: "c" },
    });
    expect(parseClientFrame('{"type":"typing"}', limits)).toEqual({ ok: true, frame: { type: "typing" } });
    expect(parseClientFrame('{"type":"nick","nick":"Bo"}', limits)).toEqual({ ok: true, frame: { type: "nick", nick: "Bo" } });
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

  it("returns the cid of a refused message so the sender can match it", () => {
    expect(parseClientFrame('{"type":"message","text":"01234567890","cid":"c9"}', limits)).toMatchObject({ ok: false, code: "too_long", cid: "c9" });
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
