/**
 * When two nicknames look the same. Someone who joins as "Аlice" (with a
 * Cyrillic А) or "A1ice" next to Alice is impersonating her: nickKey maps
 * every look-alike to one form, so the room refuses the second as taken.
 *
 * A small, hand-picked version of the idea behind Unicode's confusables
 * (UTS #39 "skeleton"): the full table is thousands of entries, mostly for
 * scripts where the Latin alphabet is not the one being imitated. This one
 * covers what impersonation in a chat room uses in practice: Cyrillic,
 * Greek and Armenian letters that look Latin, digits that look like letters,
 * letter pairs that look like one letter, accents, width and case. A false
 * match only costs someone a different nickname; a missed one lets an
 * impostor in, so the table errs on the side of matching.
 */

/** Look-alikes of Latin letters, upper and lower case, to the lower-case Latin letter. */
const LOOK_ALIKES: Readonly<Record<string, string>> = {
  // Cyrillic
  А: "a", а: "a", В: "b", Ь: "b", ь: "b", С: "c", с: "c", ԁ: "d", Е: "e", е: "e",
  Н: "h", һ: "h", І: "i", і: "i", Ӏ: "i", ӏ: "i", Ј: "j", ј: "j", К: "k", М: "m", О: "o", о: "o",
  Р: "p", р: "p", Ԛ: "q", ԛ: "q", Ѕ: "s", ѕ: "s", Т: "t", ѵ: "v", Ѵ: "v", Ԝ: "w", ԝ: "w",
  Х: "x", х: "x", У: "y", у: "y", Ү: "y", ү: "y",
  // Greek
  Α: "a", α: "a", Β: "b", β: "b", Ε: "e", Ζ: "z", Η: "h", Ι: "i", ι: "i", Κ: "k", κ: "k",
  Μ: "m", Ν: "n", ν: "v", Ο: "o", ο: "o", Ρ: "p", ρ: "p", Τ: "t", Υ: "y", υ: "u", γ: "y",
  Χ: "x", χ: "x", ϲ: "c", Ϲ: "c", ϳ: "j",
  // Armenian
  օ: "o", Օ: "o", ս: "u", Ս: "u", հ: "h", ո: "n",
  // Latin letters that lose a dot or a stroke
  ı: "i", ȷ: "j", ɑ: "a", ɩ: "i", ɡ: "g", ʏ: "y",
  // Digits and signs that pass for letters
  "0": "o", "1": "i", "|": "i",
};

const LOOK_ALIKE = new RegExp(`[${Object.keys(LOOK_ALIKES).join("").replace(/[\]\\^$|-]/g, "\\$&")}]`, "gu");

/**
 * The form two nicknames are compared in. "Alice", "ALICE", "Ａｌｉｃｅ" (full
 * width), "Alicé", "Аlice" (Cyrillic А), "A1ice" and "AIice" all give "aiice".
 * Only for comparison: people see the nickname as they wrote it.
 */
export function nickKey(nick: string): string {
  return (
    nick
      // Compatibility forms (full width, ligatures, super- and subscripts) to
      // plain ones, accents split off the letter…
      .normalize("NFKD")
      // …and dropped.
      .replace(/\p{M}/gu, "")
      .replace(LOOK_ALIKE, (char) => LOOK_ALIKES[char]!)
      .toLowerCase()
      // "l" and "I" are the same stroke in many fonts; after lower-casing, I is i.
      .replaceAll("l", "i")
      .replaceAll("rn", "m")
      .replaceAll("vv", "w")
      .replace(/\p{Pd}/gu, "-")
      .replace(/\s+/gu, " ")
  );
}
