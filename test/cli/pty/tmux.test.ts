/**
 * The terminal client in a real pseudo-terminal: tmux runs it in a detached
 * session, `send-keys` types, `capture-pane` reads the screen as a person
 * would see it. Against the real `wrangler dev`, with a protocol-level test
 * client (ChatSocket) as the other person in the room.
 *
 * What only a terminal shows: a half-typed line stays intact, cursor
 * included, while messages arrive above it; a taken nickname is asked for
 * again; colours, and none with NO_COLOR; Ctrl-D and Ctrl-C leave cleanly.
 *
 * Needs tmux (`sudo apt-get install -y tmux`; .ci/run installs it as root).
 */
import { execFileSync } from "node:child_process";
import { rmSync } from "node:fs";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { ServerFrame } from "../../../src/shared/protocol";
import type { ChatSocket } from "../../chat-socket";
import { openRoom, startDevServer, type DevServer } from "../../e2e/wrangler-dev";
import { CLI } from "../run-cli";

/** A tmux server of our own (its own socket name), never the user's. */
const TMUX_SOCKET = `edge-chat-test-${process.pid}`;
const WIDTH = 120;
const HEIGHT = 30;
const WAIT_MS = 10_000;

let server: DevServer;
let sockets: ChatSocket[] = [];
let counter = 0;

function requireTmux(): void {
  try {
    execFileSync("tmux", ["-V"], { stdio: "ignore" });
  } catch {
    throw new Error(
      "The terminal tests need tmux, and it is not installed. Install tmux " +
        "(Debian/Ubuntu: sudo apt-get install -y tmux); .ci/run installs it when it runs as root.",
    );
  }
}

function tmux(...args: string[]): string {
  return execFileSync("tmux", ["-L", TMUX_SOCKET, ...args], { encoding: "utf8", timeout: 5_000 });
}

const quote = (word: string): string => `'${word.replaceAll("'", `'\\''`)}'`;

/** Runs the client in a new tmux session; the pane prints EXIT=<code> when it ends. */
function startPane(args: string[], env: Record<string, string> = {}, width = WIDTH): string {
  const name = `pane${counter++}`;
  const assignments = Object.entries(env).map(([key, value]) => `${key}=${quote(value)}`);
  // NO_COLOR is removed unless asked for: colour must not depend on the CI's environment.
  const command = [
    "env",
    "-u",
    "NO_COLOR",
    ...assignments,
    quote(process.execPath),
    quote(CLI),
    ...args.map(quote),
  ].join(" ");
  tmux(
    "new-session",
    "-d",
    "-s",
    name,
    "-x",
    String(width),
    "-y",
    String(HEIGHT),
    `${command}; echo EXIT=$?; sleep 120`,
  );
  return name;
}

/** The screen's rows, trailing blanks trimmed (`escapes`: with colour codes). */
function screen(pane: string, escapes = false): string[] {
  return tmux("capture-pane", "-p", ...(escapes ? ["-e"] : []), "-t", pane)
    .split("\n")
    .map((row) => row.trimEnd());
}

/** Waits until the screen matches; returns its rows. */
async function waitForScreen(
  pane: string,
  test: RegExp | ((rows: string[]) => boolean),
  ms = WAIT_MS,
): Promise<string[]> {
  const deadline = Date.now() + ms;
  for (;;) {
    const rows = screen(pane);
    if (typeof test === "function" ? test(rows) : test.test(rows.join("\n"))) return rows;
    if (Date.now() > deadline)
      throw new Error(`the screen never showed ${String(test)} within ${ms} ms:\n${rows.join("\n")}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const lastRow = (rows: string[]): string => rows.filter((row) => row !== "").at(-1) ?? "";

function type(pane: string, text: string): void {
  tmux("send-keys", "-t", pane, "-l", text); // -l: literally, not as key names
}
function press(pane: string, ...keys: string[]): void {
  tmux("send-keys", "-t", pane, ...keys);
}

async function person(room: string, nick: string): Promise<ChatSocket> {
  const socket = await openRoom(server, room);
  sockets.push(socket);
  await socket.joinAs(nick);
  return socket;
}

/** The next frame that is not a typing notice (those come whenever keys are pressed); typing notices seen are counted. */
async function nextFrame(socket: ChatSocket, typing: { count: number }): Promise<ServerFrame> {
  for (;;) {
    const frame = await socket.next(WAIT_MS);
    if (frame.type !== "typing") return frame;
    typing.count++;
  }
}

beforeAll(async () => {
  requireTmux();
  server = await startDevServer();
}, 90_000);

afterEach(() => {
  for (const socket of sockets) if (socket.closed === null) socket.close();
  sockets = [];
  try {
    tmux("kill-server");
  } catch {
    // no session left
  }
});

afterAll(async () => {
  await server?.stop();
  if (server !== undefined) rmSync(server.stateDir, { recursive: true, force: true });
});

describe("terminal client in a terminal", () => {
  it("asks again for a taken nickname, keeps a half-typed line intact as messages arrive, and leaves with Ctrl-D", async () => {
    const room = `pty-${Date.now().toString(36)}`;
    const ana = await person(room, "Ana");
    const pane = startPane([`${server.url}/r/${room}`]);

    await waitForScreen(pane, /Choose your nickname:/);
    type(pane, "ANA");
    press(pane, "Enter");
    await waitForScreen(pane, (rows) => rows.filter((row) => row.startsWith("Choose your nickname:")).length === 2);
    expect(screen(pane).join("\n")).toContain('"ANA" is already in this room');
    type(pane, "Kartik");
    press(pane, "Enter");
    await waitForScreen(pane, new RegExp(`You joined #${room} as Kartik\\. Also here: Ana\\.`));
    const typing = { count: 0 };
    expect(await nextFrame(ana, typing)).toMatchObject({ type: "joined", user: { nick: "Kartik" } });

    // Half a line typed, then two messages arrive (one of two lines).
    type(pane, "half-typed wor");
    await waitForScreen(pane, (rows) => lastRow(rows) === "> half-typed wor");
    ana.send({ type: "message", text: "incoming one" });
    ana.send({ type: "message", text: "incoming two\nsecond row" });
    const rows = await waitForScreen(pane, /second row/);
    const bottom = rows.filter((row) => row !== "").slice(-4);
    expect(bottom.map((row) => row.replace(/^\d\d:\d\d /, ""))).toEqual([
      "Ana: incoming one",
      "Ana: incoming two",
      "      second row",
      "> half-typed wor",
    ]);
    // The cursor is still at the end of the input, on the prompt's row.
    const [x, y] = tmux("display-message", "-p", "-t", pane, "#{cursor_x} #{cursor_y}").trim().split(" ").map(Number);
    expect([x, y]).toEqual(["> half-typed wor".length, rows.lastIndexOf("> half-typed wor")]);

    // Finishing the line sends it; the room's echo replaces the typed copy.
    type(pane, "ds");
    press(pane, "Enter");
    let frame = await nextFrame(ana, typing);
    while (frame.type === "message" && frame.from.nick === "Ana") frame = await nextFrame(ana, typing);
    expect(frame).toMatchObject({ type: "message", text: "half-typed words", from: { nick: "Kartik" } });
    const after = await waitForScreen(pane, /Kartik: half-typed words/);
    expect(after.some((row) => row.startsWith("> half-typed"))).toBe(false);
    expect(lastRow(after)).toBe(">");
    expect(typing.count).toBeGreaterThan(0); // others saw "Kartik is typing…"

    // Names in colour on a terminal.
    expect(screen(pane, true).join("\n")).toMatch(/\x1b\[(?:3[1-7]|9[1-7])mAna\x1b\[39m/);

    press(pane, "C-d");
    await waitForScreen(pane, /EXIT=0/);
    expect(await nextFrame(ana, typing)).toMatchObject({ type: "left", user: { nick: "Kartik" } });
  });

  it("keeps a pasted line that wraps onto a second row intact too", async () => {
    const room = `pty-${Date.now().toString(36)}-w`;
    const ana = await person(room, "Ana");
    const pane = startPane([`${server.url}/r/${room}`, "--nick", "Kartik"], {}, 40);
    await waitForScreen(pane, /Type \/help/);
    // One send-keys is one chunk for readline, as a paste is: 50 characters, two rows.
    const pasted = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMN";
    type(pane, pasted);
    await waitForScreen(pane, (rows) => lastRow(rows) === pasted.slice(38));
    for (const text of ["one", "two"]) {
      ana.send({ type: "message", text });
      const rows = await waitForScreen(pane, new RegExp(`Ana: ${text}`));
      const bottom = rows.filter((row) => row !== "").slice(-3);
      expect(bottom, rows.join("\n")).toEqual([
        expect.stringMatching(new RegExp(`^\\d\\d:\\d\\d Ana: ${text}$`)),
        `> ${pasted.slice(0, 38)}`,
        pasted.slice(38),
      ]);
      // No blank row left between the message and the prompt.
      expect(rows.slice(rows.findIndex((row) => row.endsWith(`Ana: ${text}`))).slice(0, 3)).not.toContain("");
    }
    press(pane, "C-c");
    await waitForScreen(pane, /EXIT=0/);
  });

  it("leaves at once with Ctrl-C, without sending the half-typed line; no colour with NO_COLOR", async () => {
    const room = `pty-${Date.now().toString(36)}-c`;
    const ana = await person(room, "Ana");
    ana.send({ type: "message", text: "history" });
    await ana.expect("message");
    const pane = startPane([`${server.url}/r/${room}`, "--nick", "Bo"], { NO_COLOR: "1" });
    await waitForScreen(pane, /You joined/);
    expect(screen(pane, true).join("\n")).not.toMatch(/\x1b\[[\d;]*m/);
    type(pane, "not this");
    await waitForScreen(pane, (rows) => lastRow(rows) === "> not this");
    press(pane, "C-c");
    await waitForScreen(pane, /EXIT=0/);
    const typing = { count: 0 };
    expect(await nextFrame(ana, typing)).toMatchObject({ type: "joined", user: { nick: "Bo" } });
    expect(await nextFrame(ana, typing)).toMatchObject({ type: "left", user: { nick: "Bo" } });
    await ana.expectSilence(300);
  });
});
