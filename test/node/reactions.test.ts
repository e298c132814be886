/**
 * A message's reactions in the client core (withReaction, reactionsOf)
 * against a model of the room (property): after any sequence of `reacted`
 * entries, from any message the room sent on the way (a welcome, a page),
 * the counts shown are the room's exact counts, "mine" is true exactly for
 * ours, the names shown are people who chose the emoji, and a resume that
 * applies entries again changes nothing.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { reactionsOf, withReaction } from "../../src/core/messages";
import { REACTION_USERS_SHOWN, type MessageFrame } from "../../src/shared/protocol";

const ME = "u0";
const EMOJI = ["👍", "🎉", "😮"];
/** Sometimes more people than a message names, so that lists are cut. */
const USERS = Array.from({ length: REACTION_USERS_SHOWN + 6 }, (_, i) => `u${i}`);

interface Entry {
  emoji: string;
  user: string;
  on: boolean;
  count: number;
}

/** The room: who chose each emoji, first first (an emoji in the order it was first used). */
class Model {
  readonly chosen = new Map<string, string[]>();

  /** A react frame: the entry it makes, or null when it changes nothing. */
  react(emoji: string, user: string, on: boolean): Entry | null {
    const users = this.chosen.get(emoji) ?? [];
    if (users.includes(user) === on) return null;
    const next = on ? [...users, user] : users.filter((each) => each !== user);
    if (next.length === 0) this.chosen.delete(emoji);
    else this.chosen.set(emoji, next);
    return { emoji, user, on, count: next.length };
  }

  /** The message as the room sends it to `you` now. */
  frame(you: string): MessageFrame {
    const message: MessageFrame = { type: "message", id: 1, ts: 1, from: { id: "x", nick: "X" }, text: "vote" };
    if (this.chosen.size === 0) return message;
    message.reactions = {};
    for (const [emoji, users] of this.chosen) {
      message.reactions[emoji] = users.slice(0, REACTION_USERS_SHOWN);
      if (users.length > REACTION_USERS_SHOWN) {
        message.reactionCounts ??= {};
        message.reactionCounts[emoji] = users.length;
      }
    }
    if (message.reactionCounts !== undefined)
      message.yourReactions = [...this.chosen].filter(([, users]) => users.includes(you)).map(([emoji]) => emoji);
    return message;
  }
}

/** Mostly adding, so that crowds form. */
const react = fc.record({
  emoji: fc.constantFrom(...EMOJI),
  user: fc.constantFrom(...USERS),
  on: fc.constantFrom(true, true, true, false),
});

describe("reactions in the client core (property)", () => {
  it("show the room's exact counts and ours, from any message the room sent, applied once or twice", () => {
    fc.assert(
      fc.property(fc.array(react, { minLength: 40, maxLength: 150 }), fc.nat(), fc.nat(), (reacts, at, again) => {
        const model = new Model();
        const entries: Entry[] = [];
        // The message as the room would send it after each react frame,
        // and how many entries there were by then.
        const snapshots = [{ message: model.frame(ME), made: 0 }];
        for (const { emoji, user, on } of reacts) {
          const entry = model.react(emoji, user, on);
          if (entry !== null) entries.push(entry);
          snapshots.push({ message: model.frame(ME), made: entries.length });
        }
        // The client got the message at some point, then every entry made
        // after it; a resume brings the last few of them again.
        const { message: received, made } = snapshots[at % snapshots.length]!;
        const after = entries.slice(made);
        const replayed = after.slice(after.length === 0 ? 0 : again % after.length);
        let message = received;
        for (const entry of [...after, ...replayed]) message = withReaction(message, entry, ME);
        const shown = new Map(reactionsOf(message, ME).map((reaction) => [reaction.emoji, reaction]));
        expect([...shown.keys()].sort()).toEqual([...model.chosen.keys()].sort());
        for (const [emoji, users] of model.chosen) {
          const reaction = shown.get(emoji)!;
          expect(reaction.count, emoji).toBe(users.length);
          expect(reaction.mine, emoji).toBe(users.includes(ME));
          for (const user of reaction.users) expect(users, emoji).toContain(user);
          expect(reaction.users.length).toBeLessThanOrEqual(REACTION_USERS_SHOWN);
        }
      }),
      { numRuns: 500 },
    );
  });
});
