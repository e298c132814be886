/**
 * When two nicknames look the same. Someone who joins as "Аlice" (with a
 * Cyrillic А), "ꓮlice" (Lisu), "A1ice" or "Aǀice" next to Alice is
 * impersonating her: nickKey maps every look-alike to one form, so the room
 * refuses the second as taken.
 *
 * The heart of it is Unicode's own answer, the UTS #39 "skeleton": every
 * character of confusables.txt (6,311 of them, shipped by the `unhomoglyph`
 * package) replaced by the character it is confused with. On top of that,
 * what a skeleton leaves apart but a chat room must not: case (so "l", "I"
 * and "i" meet), accents, width and compatibility forms (NFKD), Latin small
 * capitals ("ᴀlice"), "vv" for "w", dashes and runs of spaces. A false match
 * only costs someone a different nickname; a missed one lets an impostor in.
 */
import CONFUSABLES from "unhomoglyph/data.json";

/** Latin small capitals read as capitals in a name; confusables.txt leaves them alone. */
const SMALL_CAPITALS = "ᴀaʙbᴄcᴅdᴇeꜰfɢgʜhɪiᴊjᴋkʟlᴍmɴnᴏoᴘpꞯqʀrꜱsᴛtᴜuᴠvᴡwʏyᴢz";

/** Each confusable character to its prototype, built on first use (once per
 * isolate; lazily, so that a bundle that never compares nicks, such as the
 * page's, drops the table). */
let prototypes: Map<string, string> | null = null;

function prototypesTable(): Map<string, string> {
  if (prototypes !== null) return prototypes;
  prototypes = new Map(Object.entries(CONFUSABLES as Record<string, string>));
  for (let i = 0; i < SMALL_CAPITALS.length; i += 2) prototypes.set(SMALL_CAPITALS[i]!, SMALL_CAPITALS[i + 1]!);
  return prototypes;
}

/** Compatibility forms to plain ones, accents split off and dropped, then every confusable to its prototype. */
function skeleton(text: string): string {
  const table = prototypesTable();
  let out = "";
  for (const char of text.normalize("NFKD").replace(/\p{M}/gu, "")) out += table.get(char) ?? char;
  return out;
}

/**
 * The form two nicknames are compared in. "Alice", "ALICE", "Ａｌｉｃｅ" (full
 * width), "Alicé", "Аlice" (Cyrillic А), "ᎪIice" (Cherokee Ꭺ, capital I)
 * and "A1ice" all give the same key. Only for comparison: people see the
 * nickname as they wrote it.
 */
export function nickKey(nick: string): string {
  // Twice, with lower-casing between: a prototype may be a capital ("Ꭺ" → "A")
  // whose lower case has prototypes of its own.
  return (
    skeleton(skeleton(nick).toLowerCase())
      .toLowerCase()
      // "l" and "I" are the same stroke in many fonts; after lower-casing, I is i.
      .replaceAll("l", "i")
      .replaceAll("vv", "w")
      .replace(/\p{Pd}/gu, "-")
      .replace(/\s+/gu, " ")
  );
}
