/**
 * Where a link found in prose ends: no DOM here, so that it is tested in
 * Node (test/node/linkify.test.ts).
 */

/** Punctuation that ends a sentence rather than a URL ("see https://x.org."). */
const TRAILING = new Set([".", ",", ";", ":", "!", "?", "'", "*", "…"]);
const CLOSING: Record<string, string> = { ")": "(", "]": "[", "}": "{" };

/** `raw` without the punctuation that follows it in prose; a closing bracket
 * stays when the URL opened it (Wikipedia's "Foo_(bar)"). One pass to count
 * the brackets, one back from the end: linear, however many ")" follow a
 * URL (a quadratic trim let one message freeze every page in the room). */
export function trimUrl(raw: string): string {
  const counts: Record<string, number> = { "(": 0, "[": 0, "{": 0, ")": 0, "]": 0, "}": 0 };
  for (let i = 0; i < raw.length; i++) {
    const char = raw[i]!;
    if (char in counts) counts[char]!++;
  }
  let end = raw.length;
  while (end > 0) {
    const last = raw[end - 1]!;
    const opening = CLOSING[last];
    if (TRAILING.has(last)) end--;
    else if (opening !== undefined && counts[opening]! < counts[last]!) {
      counts[last]!--;
      end--;
    } else break;
  }
  return raw.slice(0, end);
}
