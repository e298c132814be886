/**
 * Message text with its http(s) links made clickable. Built from text nodes
 * and anchors whose text is set with textContent: never parsed as HTML.
 */

/** A candidate link: up to the next space or character that never ends one. */
const CANDIDATE = /\bhttps?:\/\/[^\s<>"]+/gi;
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

function isWebUrl(text: string): boolean {
  try {
    const url = new URL(text);
    return (url.protocol === "http:" || url.protocol === "https:") && url.hostname !== "";
  } catch {
    return false;
  }
}

/** `text` as nodes to append to an element: strings for plain text, anchors for links. */
export function linkify(text: string): (string | HTMLAnchorElement)[] {
  const nodes: (string | HTMLAnchorElement)[] = [];
  let done = 0;
  for (const match of text.matchAll(CANDIDATE)) {
    const url = trimUrl(match[0]);
    if (!isWebUrl(url)) continue;
    if (match.index > done) nodes.push(text.slice(done, match.index));
    const link = document.createElement("a");
    link.href = url;
    link.target = "_blank";
    link.rel = "noopener noreferrer nofollow";
    link.textContent = url;
    nodes.push(link);
    done = match.index + url.length;
  }
  if (done < text.length) nodes.push(text.slice(done));
  return nodes;
}
