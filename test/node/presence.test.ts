/**
 * Who is here and who is typing, as both clients keep it (src/core/presence.ts),
 * in Node with fake timers.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { Roster, TYPING_SHOWN_MS, TypingSender, Typists } from "../../src/core/presence";
import type { ClientFrame, ServerFrame, User, WelcomeFrame } from "../../src/shared/protocol";

const ana: User = { id: "ana-id", nick: "Ana" };
const bo: User = { id: "bo-id", nick: "bo" };
const cy: User = { id: "cy-id", nick: "Cy" };
const welcome = (users: User[]): WelcomeFrame =>
  ({ type: "welcome", room: "r", you: ana, session: "s", users, history: [] }) as unknown as WelcomeFrame;

afterEach(() => vi.useRealTimers());

describe("the roster", () => {
  it("follows welcome, joined, renamed and left, and lists people by name", () => {
    const roster = new Roster();
    expect(roster.apply(welcome([cy, ana]))).toBe(true);
    expect(roster.apply({ type: "joined", user: bo })).toBe(true);
    expect(roster.sorted().map((user) => user.nick)).toEqual(["Ana", "bo", "Cy"]);
    expect(roster.apply({ type: "renamed", user: { ...cy, nick: "Abe" }, from: "Cy" })).toBe(true);
    expect(roster.sorted().map((user) => user.nick)).toEqual(["Abe", "Ana", "bo"]);
    expect(roster.apply({ type: "left", user: bo })).toBe(true);
    expect(roster.apply({ type: "left", user: bo })).toBe(false);
    expect(roster.apply({ type: "typing", user: ana })).toBe(false);
    expect([roster.size, roster.get(cy.id)?.nick]).toEqual([2, "Abe"]);
    // A new welcome is the whole truth: whoever it does not name is gone.
    roster.apply(welcome([ana]));
    expect(roster.sorted()).toEqual([ana]);
  });
});

describe("typing notices going out", () => {
  it("says so when a line starts, then at most once per interval; never for an empty line or a command", () => {
    const sent: ClientFrame[] = [];
    const typing = new TypingSender((frame) => sent.push(frame) > 0);
    typing.typed("   ", 2000, 1_000);
    typing.typed("/nick Bo", 2000, 1_000);
    expect(sent).toEqual([]);
    typing.typed("h", 2000, 1_000);
    typing.typed("he", 2000, 2_999);
    expect(sent).toEqual([{ type: "typing" }]);
    typing.typed("hel", 2000, 3_000);
    expect(sent).toHaveLength(2);
    // A line sent: the next one is announced at once.
    typing.lineSent();
    typing.typed("n", 2000, 3_001);
    expect(sent).toHaveLength(3);
  });

  it("says nothing before the room has given its interval (no welcome yet)", () => {
    const sent: ClientFrame[] = [];
    new TypingSender((frame) => sent.push(frame) > 0).typed("hello", undefined, 1_000);
    expect(sent).toEqual([]);
  });

  it("tries again on the next keystroke when the connection could not take the notice", () => {
    let online = false;
    const sent: ClientFrame[] = [];
    const typing = new TypingSender((frame) => online && sent.push(frame) > 0);
    typing.typed("a", 2000, 1_000);
    online = true;
    typing.typed("ab", 2000, 1_001);
    expect(sent).toHaveLength(1);
  });
});

describe("who is typing", () => {
  it("shows each person from their notice until their message, their leaving or silence; never oneself", () => {
    vi.useFakeTimers();
    let changes = 0;
    const typists = new Typists(() => changes++);
    const frames: ServerFrame[] = [
      { type: "typing", user: ana },
      { type: "typing", user: bo },
      { type: "typing", user: cy },
    ];
    for (const frame of frames) typists.apply(frame, ana.id);
    expect(typists.line).toBe("bo and Cy are typing…");
    typists.apply({ type: "renamed", user: { ...bo, nick: "Bob" }, from: "bo" }, ana.id);
    expect(typists.nicks).toEqual(["Bob", "Cy"]);
    typists.apply({ type: "typing", user: ana }, undefined);
    expect(typists.line).toBe("3 people are typing…");
    typists.apply({ type: "message", id: 1, ts: 0, from: cy, text: "hi" }, undefined);
    typists.apply({ type: "left", user: ana }, undefined);
    expect(typists.line).toBe("Bob is typing…");
    vi.advanceTimersByTime(TYPING_SHOWN_MS - 1);
    expect(typists.line).toBe("Bob is typing…");
    vi.advanceTimersByTime(1);
    expect(typists.line).toBe("");
    expect(changes).toBe(7);
    typists.apply({ type: "typing", user: cy }, undefined);
    typists.apply(welcome([]), ana.id);
    expect(typists.line).toBe("");
    expect(vi.getTimerCount()).toBe(0);
  });
});
