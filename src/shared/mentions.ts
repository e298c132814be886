/**
 * Mentions: "@Ana" in a message names Ana, when she is in the room as the
 * message is sent. The room stamps who was named (`mentions`, user ids) on
 * the message, like its sender: clients trust it rather than each guessing
 * from the text and their own idea of who is here.
 */
import type { User } from "./protocol";

/** Most "@" in one message that are looked at: a text of nothing but "@"
 * costs the room no more than this many lookups. */
export const MAX_MENTION_MARKS = 64;

/** What may not follow a nickname for "@nick" to name it ("@Ana," names
 * Ana; "@Anastasia" does not). */
const WORD_GOES_ON = /[\p{L}\p{N}\p{M}_]/u;

/** Whether the character at `at` is part of a word (false outside the text). */
function wordGoesOn(text: string, at: number): boolean {
  const next = at < 0 ? undefined : text.codePointAt(at);
  return next !== undefined && WORD_GOES_ON.test(String.fromCodePoint(next));
}

/**
 * The ids of the users `text` names as "@nick", in the order they are named,
 * each once. Nicknames compare without case; where two fit ("@Ana Maria"
 * with both Ana and Ana Maria here), the longer wins.
 */
export function mentionedIn(text: string, users: readonly User[]): string[] {
  if (!text.includes("@") || users.length === 0) return [];
  const lowered = text.toLowerCase();
  // Nicknames by their first character, longest first.
  const byFirst = new Map<string, { nick: string; id: string }[]>();
  for (const user of users) {
    const nick = user.nick.toLowerCase();
    const list = byFirst.get(nick[0] ?? "") ?? [];
    list.push({ nick, id: user.id });
    byFirst.set(nick[0] ?? "", list);
  }
  for (const list of byFirst.values()) list.sort((a, b) => b.nick.length - a.nick.length);
  const named: string[] = [];
  let at = lowered.indexOf("@");
  for (let marks = 0; at !== -1 && marks < MAX_MENTION_MARKS; marks++) {
    const start = at + 1;
    // "@" inside a word ("mail@ana.example") names no one.
    const found = wordGoesOn(lowered, at - 1)
      ? undefined
      : byFirst
          .get(lowered[start] ?? "")
          ?.find(({ nick }) => lowered.startsWith(nick, start) && !wordGoesOn(lowered, start + nick.length));
    if (found !== undefined && !named.includes(found.id)) named.push(found.id);
    at = lowered.indexOf("@", found === undefined ? start : start + found.nick.length);
  }
  return named;
}
