/**
 * What the terminal shows, as plain strings: pure functions of frames, so
 * they are unit-tested without a terminal.
 *
 * Everything that comes from the server is sanitised before it is printed.
 * The room refuses control characters in text and nicknames, but a terminal
 * obeys escape sequences blindly (clear the screen, rewrite the title, fake
 * a line from someone else), so the client does not trust the server here.
 */
import { formatFileSize } from "../src/shared/files";
import { parseMarkdown, type Span } from "../src/shared/markdown";
import {
  quoteText,
  type FileInfo,
  type MessageFrame,
  type ReactedFrame,
  type ServerFrame,
  type User,
} from "../src/shared/protocol";

/** How much of a message a line about it (a reaction) shows, in characters. */
const QUOTE_SHORT = 40;

// ---------------------------------------------------------------------------
// Sanitising
// ---------------------------------------------------------------------------

/** C0 controls but tab and line feed, DEL, and C1 controls (0x9B is a
 * one-byte CSI on some terminals). */
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;
/** Bidi embeddings, overrides and isolates: they reorder what follows them
 * on the line, which can make a message read as something else. */
const BIDI = /[\u202a-\u202e\u2066-\u2069]/g;
/** Line and paragraph separators, and CR: line breaks in all but name. */
const BREAKS = /\r\n?|[\u2028\u2029]/g;

/** Text made safe for a terminal: every control character shown as a
 * visible symbol (ESC as ␛), line breaks as "\n" and tabs kept. */
export function sanitize(text: string): string {
  return text
    .replace(BREAKS, "\n")
    .replace(CONTROL, (c) => {
      const code = c.charCodeAt(0);
      // Control Pictures (U+2400…) for C0, ␡ for DEL, the replacement character for C1.
      return code < 0x20 ? String.fromCharCode(0x2400 + code) : code === 0x7f ? "\u2421" : "\ufffd";
    })
    .replace(BIDI, "\ufffd")
    .toWellFormed();
}

/** For what must stay on one line (nicknames, room names, reasons). */
export const sanitizeLine = (text: string): string => sanitize(text).replace(/[\n\t]/g, " ");

// ---------------------------------------------------------------------------
// Colour
// ---------------------------------------------------------------------------

/**
 * Whether to write ANSI colour codes: only to a terminal, never when
 * NO_COLOR is set to anything (https://no-color.org) or TERM is "dumb".
 */
export function useColour(isTTY: boolean | undefined, env: NodeJS.ProcessEnv): boolean {
  return isTTY === true && (env.NO_COLOR ?? "") === "" && env.TERM !== "dumb";
}

/** Foreground colours for names: the standard and bright ones, minus black,
 * white and dark blue (unreadable on one background or the other). */
const NAME_COLOURS = [31, 32, 33, 35, 36, 91, 92, 93, 94, 95, 96];

/** A stable colour for a user id: the same person looks the same in every
 * session and on every screen. */
export function colourOf(id: string): number {
  let hash = 0;
  for (let i = 0; i < id.length; i++) hash = (hash * 31 + id.charCodeAt(i)) >>> 0;
  return NAME_COLOURS[hash % NAME_COLOURS.length]!;
}

// ---------------------------------------------------------------------------
// Lines
// ---------------------------------------------------------------------------

const pad = (n: number): string => String(n).padStart(2, "0");

/** HH:MM in local time. */
export function clock(ts: number): string {
  const date = new Date(ts);
  return `${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

/** Continuation lines of a multi-line message start under its text, past "HH:MM ". */
const INDENT = " ".repeat("00:00 ".length);

/**
 * Turns frames into lines for the screen, with or without colour. It keeps
 * the day of the last line it wrote, to print a separator when the day
 * changes (in history from yesterday, or in a session over midnight).
 */
export class Formatter {
  readonly #colour: boolean;
  /** The server's http(s)://host, to turn file links into full URLs. */
  readonly #httpBase: string;
  #day: string;
  /** `/ids on`: messages start with their id ("#42"), for `/delete 42`. */
  showIds = false;

  constructor(colour: boolean, now = Date.now(), httpBase = "") {
    this.#colour = colour;
    this.#httpBase = httpBase;
    this.#day = new Date(now).toDateString();
  }

  #paint(text: string, on: number, off: number): string {
    return this.#colour ? `\x1b[${on}m${text}\x1b[${off}m` : text;
  }

  /** A name in its user's colour. */
  name(user: User): string {
    return this.#paint(sanitizeLine(user.nick), colourOf(user.id), 39);
  }

  dim(text: string): string {
    return this.#paint(text, 2, 22);
  }

  bold(text: string): string {
    return this.#paint(text, 1, 22);
  }

  /** A day separator, when `ts` is on another day than the previous line. */
  #dayLine(ts: number): string[] {
    const day = new Date(ts).toDateString();
    if (day === this.#day) return [];
    this.#day = day;
    return [this.dim(`-- ${day} --`)];
  }

  /** A message, or an action ("* Ana waves"); dimmed when it is history,
   * its text in bold when it mentions us. A deleted one (a tombstone) says
   * so, dimmed. `ids`: start with the message's id (default: showIds). */
  message(message: MessageFrame, history = false, { mentioned = false, ids = this.showIds } = {}): string[] {
    const id = ids ? `${this.dim(`#${message.id}`)} ` : "";
    if (message.deleted) {
      return [
        ...this.#dayLine(message.ts),
        `${clock(message.ts)} ${id}${this.name(message.from)}: ${this.dim("(message deleted)")}`,
      ];
    }
    const text = message.file === undefined ? this.#styled(sanitize(message.text)) : this.#file(message.file);
    const [first = "", ...rest] = text.split("\n").map((line) => (mentioned ? this.bold(line) : line));
    const edited = message.edited === undefined ? "" : ` ${this.dim("(edited)")}`;
    const head =
      message.action === true
        ? `* ${this.name(message.from)}${edited} ${first}`
        : `${this.name(message.from)}${edited}: ${first}`;
    const lines = [`${clock(message.ts)} ${id}${head}`, ...rest.map((line) => INDENT + line)];
    // A reply: the start of what it answers, above it.
    const quote = message.replyTo;
    if (quote !== undefined)
      lines.unshift(
        INDENT +
          this.dim(
            quote.deleted ? "↪ (deleted message)" : `↪ ${sanitizeLine(quote.from.nick)}: ${sanitizeLine(quote.text)}`,
          ),
      );
    // Dim per line, so that a line never starts in the middle of a style.
    return [...this.#dayLine(message.ts), ...(history ? lines.map((line) => this.dim(line)) : lines)];
  }

  /** A reaction, as a notice: "Ana reacted 👍 to Bob: lunch?" (the
   * message's start; its id when the list does not hold it). */
  reaction(frame: ReactedFrame, message: MessageFrame | undefined): string[] {
    const what =
      message === undefined
        ? `message #${frame.target}`
        : `${this.name(message.from)}: ${this.dim(sanitizeLine(quoteText(message.file?.name ?? message.text, QUOTE_SHORT)))}`;
    const how = frame.on ? "reacted" : "took back";
    return this.notice(
      `${this.name(frame.user)} ${how} ${sanitizeLine(frame.emoji)} ${frame.on ? "to" : "on"} ${what}`,
      frame.ts,
    );
  }

  /** A message's Markdown (shared/markdown.ts) as ANSI styles: bold, italic,
   * code in cyan, code blocks indented. Without colour the text stays as
   * written, marks and all, which reads well and pipes unchanged. */
  #styled(text: string): string {
    if (!this.#colour) return text;
    const spans = (list: Span[]): string =>
      list
        .map((span) => {
          if (span.kind === "text") return span.text;
          if (span.kind === "code") return this.#paint(span.text, 36, 39);
          return span.kind === "bold" ? this.bold(spans(span.children)) : this.#paint(spans(span.children), 3, 23);
        })
        .join("");
    return parseMarkdown(text)
      .map((block) =>
        block.kind === "code"
          ? block.text
              .split("\n")
              .map((line) => `  ${this.#paint(line, 36, 39)}`)
              .join("\n")
          : spans(block.spans),
      )
      .join("\n");
  }

  /** "shared photo.jpg (1.2 MB, image/jpeg): http://…/files/…" */
  #file(file: FileInfo): string {
    const url = this.#httpBase === "" ? file.url : new URL(file.url, this.#httpBase).href;
    return `shared ${this.bold(sanitize(file.name))} (${formatFileSize(file.size)}, ${sanitize(file.type)}): ${sanitize(url)}`;
  }

  /** A notice from the room ("* Ana joined"), in the old chat's style. */
  notice(text: string, now = Date.now()): string[] {
    return [...this.#dayLine(now), `${clock(now)} ${this.dim("*")} ${text}`];
  }
}

const JSON_RAW = /[\u007f-\u009f\u202a-\u202e\u2066-\u2069\u2028\u2029]/g;

/**
 * A frame as one line of JSON, for other programs (--json). The welcome's
 * session token is left out: it is a secret that lets anyone take over this
 * identity, and programs reading the output have no use for it. DEL, C1
 * controls, bidi controls and U+2028/U+2029, which JSON allows raw, are
 * escaped too (JSON.stringify escapes only C0), so the line is safe to show
 * in a terminal and means the same once parsed.
 */
export function jsonLine(frame: ServerFrame): string {
  const shown = frame.type === "welcome" ? { ...frame, session: undefined } : frame;
  return JSON.stringify(shown).replace(JSON_RAW, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}
