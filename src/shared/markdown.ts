/**
 * The small Markdown people type in chats: `*bold*`, `_italic_`,
 * `` `code` `` and fenced code blocks (```), with a backslash before a
 * mark to write it as it is (`\*not bold\*`). Links are bare URLs, found by
 * each client (the page's linkify.ts). Parsed here into a tree that each
 * client draws its own way: the page as DOM nodes (never HTML: the text
 * never becomes markup), the terminal with ANSI styles.
 *
 * The rules are made to leave ordinary text alone: a mark opens only before
 * a non-space and closes only after one, on the same line, and `_` only at
 * the edges of a word (snake_case stays as it is).
 */

export type Span =
  | { kind: "text"; text: string }
  | { kind: "code"; text: string }
  | { kind: "bold" | "italic"; children: Span[] };

export type Block = { kind: "code"; text: string } | { kind: "text"; spans: Span[] };

const FENCE = /^```[^\n`]*\n([\s\S]*?)\n?```[ \t]*$/gm;
/** A link (kept whole: its `_` and `*` are not marks), an escape, code, bold, italic. */
const INLINE =
  /(https?:\/\/[^\s<>"]+)|\\([*_`\\])|`([^`\n]+)`|(?<![\p{L}\p{N}\\])\*(?=\S)([^*\n]*?\S)\*(?![\p{L}\p{N}*])|(?<![\p{L}\p{N}_\\])_(?=\S)([^_\n]*?\S)_(?![\p{L}\p{N}_])/gu;

/** A message's text as blocks: code blocks as they are, the rest as spans. */
export function parseMarkdown(text: string): Block[] {
  const blocks: Block[] = [];
  let last = 0;
  for (const match of text.matchAll(FENCE)) {
    const before = text.slice(last, match.index).replace(/\n$/, "");
    if (before !== "") blocks.push({ kind: "text", spans: parseSpans(before) });
    blocks.push({ kind: "code", text: match[1] ?? "" });
    last = match.index + match[0].length;
    if (text[last] === "\n") last++;
  }
  const rest = text.slice(last);
  if (rest !== "" || blocks.length === 0) blocks.push({ kind: "text", spans: parseSpans(rest) });
  return blocks;
}

/** One stretch of text (no code blocks) as spans. */
export function parseSpans(text: string): Span[] {
  const spans: Span[] = [];
  let last = 0;
  const plain = (upTo: number): void => {
    if (upTo > last) spans.push({ kind: "text", text: text.slice(last, upTo) });
  };
  for (const match of text.matchAll(INLINE)) {
    const [, link, escaped, code, bold, italic] = match;
    plain(match.index);
    if (link !== undefined) spans.push({ kind: "text", text: link });
    else if (escaped !== undefined) spans.push({ kind: "text", text: escaped });
    else if (code !== undefined) spans.push({ kind: "code", text: code });
    else if (bold !== undefined) spans.push({ kind: "bold", children: parseSpans(bold) });
    else if (italic !== undefined) spans.push({ kind: "italic", children: parseSpans(italic) });
    last = match.index + match[0].length;
  }
  plain(text.length);
  // Neighbouring text (an escape splits it) as one.
  return spans.reduce<Span[]>((joined, span) => {
    const previous = joined.at(-1);
    if (span.kind === "text" && previous?.kind === "text") previous.text += span.text;
    else joined.push(span.kind === "text" ? { ...span } : span);
    return joined;
  }, []);
}

/** The text without its marks (for a quote, a notification). */
export function plainText(blocks: Block[]): string {
  const flat = (spans: Span[]): string =>
    spans.map((span) => ("children" in span ? flat(span.children) : span.text)).join("");
  return blocks.map((block) => (block.kind === "code" ? block.text : flat(block.spans))).join("\n");
}
