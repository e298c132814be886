/** What the terminal client prints, as pure functions. */
import { describe, expect, it } from "vitest";
import { Formatter, clock, colourOf, jsonLine, sanitize, sanitizeLine, useColour } from "../../cli/format";
import { displayWidth, rowsOf } from "../../cli/terminal";
import { DEFAULT_SETTINGS, type MessageFrame, type RoomLimits } from "../../src/shared/protocol";

const ESC = "\x1b";
const ana = { id: "aj4mv3xkq2c7dwbe", nick: "Ana" };
const at = (hours: number, minutes: number, day = 24) => new Date(2025, 10, day, hours, minutes).getTime();
const message = (text: string, extra: Partial<MessageFrame> = {}): MessageFrame => ({
  type: "message",
  id: 1,
  ts: at(9, 5),
  from: ana,
  text,
  ...extra,
});

describe("sanitising", () => {
  it("never lets a control character through, and shows each one", () => {
    const hostile = `a${ESC}[2J${ESC}]0;pwned\x07b\x00\x7f\u009b31mc\u202eevil\u2066d`;
    const safe = sanitize(hostile);
    expect(safe).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/);
    expect(safe).toBe("a␛[2J␛]0;pwned␇b␀␡\ufffd31mc\ufffdevil\ufffdd");
  });

  it("keeps tabs, line feeds and emoji; turns other line breaks into line feeds", () => {
    expect(sanitize("a\tb\nc\r\nd\re\u2028f 👩‍💻")).toBe("a\tb\nc\nd\ne\nf 👩‍💻");
    expect(sanitizeLine("two\nlines\tand a tab")).toBe("two lines and a tab");
    expect(sanitize("lone \ud800 surrogate")).toBe("lone \ufffd surrogate");
  });
});

describe("colour", () => {
  it("only on a terminal, and never with NO_COLOR or TERM=dumb", () => {
    expect(useColour(true, {})).toBe(true);
    expect(useColour(false, {})).toBe(false);
    expect(useColour(undefined, {})).toBe(false);
    expect(useColour(true, { NO_COLOR: "1" })).toBe(false);
    expect(useColour(true, { NO_COLOR: "" })).toBe(true); // no-color.org: set and not empty
    expect(useColour(true, { TERM: "dumb" })).toBe(false);
  });

  it("gives each user id a stable colour, and different ids different colours", () => {
    expect(colourOf(ana.id)).toBe(colourOf(ana.id));
    const colours = new Set(Array.from({ length: 40 }, (_, i) => colourOf(`user-${i}`)));
    expect(colours.size).toBeGreaterThan(5);
  });
});

describe("lines", () => {
  it("formats messages, actions and notices with HH:MM, in plain text without colour", () => {
    const plain = new Formatter(false, at(9, 0));
    expect(clock(at(9, 5))).toBe("09:05");
    expect(plain.message(message("hello"))).toEqual(["09:05 Ana: hello"]);
    expect(plain.message(message("waves", { action: true }))).toEqual(["09:05 * Ana waves"]);
    expect(plain.message(message("one\ntwo"))).toEqual(["09:05 Ana: one", "      two"]);
    expect(plain.notice("Ana joined", at(23, 59))).toEqual(["23:59 * Ana joined"]);
    expect(plain.message(message(`${ESC}[31mred`)).join("")).not.toContain(ESC);
  });

  it("shows a reply under the start of what it answers, ids with /ids on, and tombstones", () => {
    const plain = new Formatter(false, at(9, 0));
    const bo = { id: "bo", nick: "Bo" };
    const reply = message("me too", { replyTo: { id: 7, from: bo, text: `nice ${ESC}[31mday` } });
    expect(plain.message(reply)).toEqual(["      ↪ Bo: nice ␛[31mday", "09:05 Ana: me too"]);
    expect(plain.message({ ...reply, replyTo: { id: 7, from: bo, text: "", deleted: true } })[0]).toBe(
      "      ↪ (deleted message)",
    );
    expect(plain.message(message("fixed", { edited: at(9, 6) }))).toEqual(["09:05 Ana (edited): fixed"]);
    plain.showIds = true;
    expect(plain.message(message("hello"))).toEqual([`09:05 #${message("hello").id} Ana: hello`]);
    expect(plain.message({ ...message(""), deleted: true })).toEqual([
      `09:05 #${message("").id} Ana: (message deleted)`,
    ]);
  });

  it("draws Markdown with ANSI styles, and leaves it as written without colour", () => {
    const fancy = new Formatter(true, at(9, 0));
    const [line] = fancy.message(message("*bold* _it_ `code` 2*3*4 \\*not\\*"));
    expect(line).toContain(`${ESC}[1mbold${ESC}[22m`);
    expect(line).toContain(`${ESC}[3mit${ESC}[23m`);
    expect(line).toContain(`${ESC}[36mcode${ESC}[39m`);
    expect(line).toContain("2*3*4 *not*");
    expect(fancy.message(message("see:\n```\nlet x = 1;\n```"))).toEqual([
      expect.stringContaining("see:"),
      `        ${ESC}[36mlet x = 1;${ESC}[39m`,
    ]);
    const plain = new Formatter(false, at(9, 0));
    expect(plain.message(message("*bold* `code`"))).toEqual(["09:05 Ana: *bold* `code`"]);
    // A sender's escape codes stay harmless inside styles too.
    expect(fancy.message(message(`*${ESC}[2J*`)).join("")).not.toContain(`${ESC}[2J`);
  });

  it("puts a mention of us in bold, results with ids, and a reaction on one line", () => {
    const fancy = new Formatter(true, at(9, 0));
    expect(fancy.message(message("@Bo hi"), false, { mentioned: true })[0]).toContain(`${ESC}[1m@Bo hi${ESC}[22m`);
    const plain = new Formatter(false, at(9, 0));
    expect(plain.message(message("found"), false, { ids: true })).toEqual(["09:05 #1 Ana: found"]);
    const bo = { id: "bo", nick: "Bo" };
    const reacted = { type: "reacted", id: 9, target: 1, emoji: "👍", user: bo, on: true, ts: at(9, 7) } as const;
    expect(plain.reaction(reacted, message("lunch at noon, at the usual place by the river?"))).toEqual([
      "09:07 * Bo reacted 👍 to Ana: lunch at noon, at the usual place by th…",
    ]);
    expect(plain.reaction({ ...reacted, on: false }, undefined)).toEqual(["09:07 * Bo took back 👍 on message #1"]);
  });

  it("colours names and dims history, with colour", () => {
    const fancy = new Formatter(true, at(9, 0));
    const [line] = fancy.message(message("hello"));
    expect(line).toBe(`09:05 ${ESC}[${colourOf(ana.id)}mAna${ESC}[39m: hello`);
    expect(fancy.message(message("old"), true)).toEqual([
      `${ESC}[2m09:05 ${ESC}[${colourOf(ana.id)}mAna${ESC}[39m: old${ESC}[22m`,
    ]);
    // Colour codes only ever come from the formatter, never from a nickname.
    expect(fancy.name({ id: "x", nick: `${ESC}[0mX` })).not.toContain(`${ESC}[0m`);
  });

  it("says when the day changes", () => {
    const plain = new Formatter(false, at(9, 0, 25));
    expect(plain.message(message("yesterday"))).toEqual([
      `-- ${new Date(at(9, 5)).toDateString()} --`,
      "09:05 Ana: yesterday",
    ]);
    expect(plain.message(message("same day"))).toEqual(["09:05 Ana: same day"]);
  });

  it("prints frames as JSON lines without the session token or raw control characters", () => {
    const welcome = jsonLine({
      type: "welcome",
      room: "r",
      you: ana,
      session: "secret",
      users: [ana],
      history: [],
      limits: {} as RoomLimits,
      settings: { ...DEFAULT_SETTINGS },
    });
    expect(JSON.parse(welcome)).not.toHaveProperty("session");
    expect(welcome).not.toContain("secret");
    const text = "a\u009bb\u2028c\u007fd\u202ee";
    const line = jsonLine(message(text));
    expect(line).toContain(String.raw`"a\u009bb\u2028c\u007fd\u202ee"`);
    expect(line).not.toMatch(/[\u007f-\u009f\u2028\u202e]/);
    expect(JSON.parse(line).text).toBe(text);
  });

  it("counts the rows a line takes on the terminal", () => {
    expect(displayWidth("> héllo")).toBe(7);
    expect(displayWidth("日本")).toBe(4);
    expect(displayWidth(`${ESC}[31mred${ESC}[39m`)).toBe(3);
    expect(rowsOf("x".repeat(80), 80)).toBe(1);
    expect(rowsOf("x".repeat(81), 80)).toBe(2);
    expect(rowsOf("", 80)).toBe(1);
    expect(rowsOf("abc", undefined)).toBe(1);
  });
});
