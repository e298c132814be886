/**
 * edge-chat, the terminal client: `edge-chat <room-url> [--nick NAME] [--json]`.
 *
 * Bundled by scripts/build-cli.mjs into dist/edge-chat.mjs, which Node ≥ 22
 * runs as is: its global WebSocket is the only thing needed at run time.
 * This file only wires the parts together and decides how the process ends.
 */
import { parseArgs, USAGE } from "./args";
import { Formatter, useColour } from "./format";
import { ChatSession, EXIT } from "./session";
import { Terminal } from "./terminal";

async function main(): Promise<number> {
  // Node 20 and older have no global WebSocket (it arrived in Node 22).
  if (typeof WebSocket === "undefined") {
    process.stderr.write(
      `edge-chat needs Node.js 22 or newer (this is ${process.version}); npm run chat brings its own.\n`,
    );
    return EXIT.failed;
  }
  const parsed = parseArgs(process.argv.slice(2));
  if (parsed.kind === "help") {
    process.stdout.write(`${USAGE}\n`);
    return EXIT.ok;
  }
  if (parsed.kind === "error") {
    process.stderr.write(`edge-chat: ${parsed.message}\nTry edge-chat --help.\n`);
    return EXIT.usage;
  }
  const { options } = parsed;
  const interactive = process.stdin.isTTY === true;
  if (!interactive && options.nick === undefined) {
    process.stderr.write(
      'edge-chat: standard input is not a terminal, so nobody can answer "Choose your nickname:". Give one with --nick NAME.\n',
    );
    return EXIT.usage;
  }
  const fancy = interactive && process.stdout.isTTY === true && !options.json;
  const colour = !options.json && useColour(process.stdout.isTTY, process.env);
  const session = new ChatSession({
    options,
    interactive,
    terminal: new Terminal(fancy),
    format: new Formatter(colour, Date.now(), options.httpBase),
  });
  // A reader that went away (`edge-chat … | head`): leave like Ctrl-C.
  process.stdout.on("error", () => session.interrupt());
  return session.run();
}

let exiting = false;

/** Exits once stdout and stderr have taken everything written (pipes may be asynchronous). */
function exit(code: number): void {
  exiting = true;
  let pending = 2;
  const done = (): void => {
    if (--pending === 0) process.exit(code);
  };
  process.stdout.write("", done);
  process.stderr.write("", done);
}

// Nothing left to wait for, yet no exit code: a run that can no longer end
// by itself. Say so, rather than let Node exit quietly with 0.
process.on("beforeExit", () => {
  if (exiting) return;
  process.stderr.write("edge-chat: stopped with nothing left to wait for (a bug: please report it).\n");
  exit(EXIT.failed);
});

main().then(exit, (error: unknown) => {
  process.stderr.write(`edge-chat: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  exit(EXIT.failed);
});
