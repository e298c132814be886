/**
 * The terminal side: lines in, lines out.
 *
 * On a terminal (stdin and stdout both TTYs, and no --json) it is a readline
 * prompt, and every line that arrives is printed *above* it: the prompt and
 * the half-typed line are erased (on every row they wrap onto), the line is
 * written, and readline redraws the prompt with the input and the cursor
 * where they were. Anything else (pipes, files, --json) is plain lines: chat
 * on stdout, diagnostics on stderr, no prompt and no escape codes.
 */
import { clearScreenDown, createInterface, cursorTo, moveCursor, type Interface } from "node:readline";
import { stripVTControlCharacters } from "node:util";

const PROMPT = "> ";

export interface TerminalHandlers {
  /** A line typed or piped in (not an answer to ask()). */
  line(line: string): void;
  /** End of input: Ctrl-D on an empty line, or the end of a pipe. */
  end(): void;
  /** Ctrl-C, or SIGINT/SIGTERM/SIGHUP: leave now. */
  interrupt(): void;
  /** A key changed the line being typed (terminal only), with the line now. */
  typing(line: string): void;
}

export class Terminal {
  readonly fancy: boolean;
  readonly #rl: Interface;
  readonly #out: NodeJS.WriteStream;
  readonly #err: NodeJS.WriteStream;
  #on: TerminalHandlers | null = null;
  /** The pending ask(), answered by the next line. */
  #answer: ((line: string | null) => void) | null = null;
  /** The prompt is on screen (from showPrompt() on). */
  #prompting = false;
  #ended = false;
  /** The terminal went away (its input ended). */
  #hungUp = false;

  constructor(
    fancy: boolean,
    input: NodeJS.ReadStream = process.stdin,
    output = process.stdout,
    errors = process.stderr,
  ) {
    this.fancy = fancy;
    this.#out = output;
    this.#err = errors;
    this.#rl = fancy
      ? createInterface({ input, output, prompt: PROMPT, terminal: true, historySize: 200 })
      : // No output stream: readline must not echo or prompt into a pipe.
        createInterface({ input, terminal: false });
    this.#rl.on("line", (line) => this.#line(line));
    this.#rl.on("close", () => {
      this.#ended = true;
      const answer = this.#answer;
      this.#answer = null;
      if (answer !== null) answer(null);
      else this.#on?.end();
    });
    // In raw mode Ctrl-C reaches readline as a key, not as a signal.
    this.#rl.on("SIGINT", () => this.#on?.interrupt());
    for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.on(signal, () => this.#on?.interrupt());
    if (fancy) {
      // On a terminal, input ends only when the terminal goes away (Ctrl-D
      // is a key), and readline then submits the half-typed line. Nobody
      // pressed Enter: this listener runs before readline's and drops it.
      input.prependListener("end", () => (this.#hungUp = true));
      // readline's own keypress listener ran first: rl.line is up to date.
      input.on("keypress", () => {
        if (this.#prompting) this.#on?.typing(this.#rl.line);
      });
    }
  }

  /** Starts delivering input to `handlers`. Call it right away: readline
   * delivers nothing before the next turn of the event loop. */
  listen(handlers: TerminalHandlers): void {
    this.#on = handlers;
  }

  /** Chat content: above the prompt on a terminal, else on stdout. */
  print(lines: readonly string[]): void {
    if (lines.length > 0) this.#write(this.#out, lines.join("\n"));
  }

  /** Rings the terminal's bell (BEL): a terminal shows or sounds it as its user chose. */
  bell(): void {
    if (this.fancy) this.#out.write("\x07");
  }

  /** A diagnostic (connection status, errors): on the terminal with the chat, else on stderr. */
  info(text: string): void {
    this.#write(this.fancy ? this.#out : this.#err, text);
  }

  /** Asks a question (on the terminal, or on stderr); resolves with the answer, or null at end of input. */
  ask(question: string): Promise<string | null> {
    if (this.#ended) return Promise.resolve(null);
    this.#prompting = false;
    if (this.fancy) {
      this.#rl.setPrompt(`${question} `);
      this.#rl.prompt();
    } else {
      this.#err.write(`${question}\n`);
    }
    return new Promise((resolve) => (this.#answer = resolve));
  }

  /** Shows the chat prompt (once joined), and keeps it under everything printed from now on. */
  showPrompt(): void {
    if (!this.fancy || this.#ended) return;
    this.#prompting = true;
    this.#rl.setPrompt(PROMPT);
    this.#rl.prompt(true);
  }

  /** Stops reading input (the process may then exit). */
  close(): void {
    // Off with the prompt and any unsent input, so that what follows (the
    // shell's prompt, a last message) starts on a clean row.
    if (this.#prompting) this.#erase(this.#rl.getCursorPos().rows);
    this.#ended = true;
    this.#prompting = false;
    this.#on = null;
    this.#rl.close();
  }

  #line(line: string): void {
    if (this.#hungUp) return;
    const answer = this.#answer;
    if (answer !== null) {
      this.#answer = null;
      answer(line);
      return;
    }
    // The typed line is echoed back by the room as a message, in its own
    // colours: take the readline copy off the screen.
    if (this.#prompting) this.#erase(rowsOf(PROMPT + line, this.#out.columns));
    this.#on?.line(line);
    // readline does not prompt again by itself; the handler may have
    // printed (and so redrawn it) already, in which case this is a no-op.
    if (this.#prompting) this.#rl.prompt();
  }

  /** Moves up `rows` rows from the start of the current one and clears to the end of the screen. */
  #erase(rows: number): void {
    moveCursor(this.#out, 0, -rows);
    cursorTo(this.#out, 0);
    clearScreenDown(this.#out);
  }

  #write(stream: NodeJS.WriteStream, text: string): void {
    if (!this.#prompting) {
      stream.write(`${text}\n`);
      return;
    }
    // Off with the prompt and the input, on every row they cover (the cursor
    // row, computed from the line, is reliable), then the text. The cursor
    // is now where the prompt must start, which readline's redraw has to be
    // told: it climbs `prevRows` rows first, and that count is stale after a
    // paste (inserted without a redraw). Then it writes the prompt and the
    // input again, with the cursor where it was.
    this.#erase(this.#rl.getCursorPos().rows);
    stream.write(`${text}\n`);
    (this.#rl as Interface & { prevRows: number }).prevRows = 0;
    this.#rl.prompt(true);
  }
}

/** How many rows `text` takes on a terminal `columns` wide (at least one). */
export function rowsOf(text: string, columns: number | undefined): number {
  if (columns === undefined || columns <= 0) return 1;
  return Math.max(1, Math.ceil(displayWidth(text) / columns));
}

/** Zero-width: combining marks, joiners and variation selectors. */
// biome-ignore lint/suspicious/noMisleadingCharacterClass: tested one code point at a time; the joiners are what it is for.
const ZERO_WIDTH = /^[\p{M}\u200b-\u200f\ufe00-\ufe0f]$/u;

/** Columns a string takes: two for East Asian wide characters and most
 * emoji, none for combining marks. (Close enough for erasing rows.) */
export function displayWidth(text: string): number {
  let width = 0;
  for (const char of stripVTControlCharacters(text)) {
    const code = char.codePointAt(0)!;
    if (ZERO_WIDTH.test(char)) continue;
    const wide =
      (code >= 0x1100 && code <= 0x115f) ||
      (code >= 0x2e80 && code <= 0xa4cf) ||
      (code >= 0xac00 && code <= 0xd7a3) ||
      (code >= 0xf900 && code <= 0xfaff) ||
      (code >= 0xfe30 && code <= 0xfe4f) ||
      (code >= 0xff00 && code <= 0xff60) ||
      (code >= 0xffe0 && code <= 0xffe6) ||
      (code >= 0x1f300 && code <= 0x1faff) ||
      (code >= 0x20000 && code <= 0x3fffd);
    width += wide ? 2 : 1;
  }
  return width;
}
