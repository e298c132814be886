/**
 * The command line: `edge-chat <room-url> [--nick NAME] [--owner-key KEY] [--json]`. Pure
 * functions (no I/O), so every refusal and its message is unit-tested.
 */
import { parseNick, parseRoomName } from "../src/shared/protocol";

export interface Options {
  /** The room's WebSocket: ws(s)://host/api/rooms/<room>/websocket. */
  socketUrl: string;
  /** The URL as the user wrote it, for messages ("Cannot reach …"). */
  given: string;
  /** The canonical (lower-case) room name. */
  room: string;
  nick?: string;
  json: boolean;
  /** The server's address, http(s)://host, for files. */
  httpBase: string;
  /** Save every file shared in the room here (--download-dir). */
  downloadDir?: string;
  /** The room's owner key (--owner-key, or an owner link's #owner=KEY): join as its owner. */
  ownerKey?: string;
}

export type Parsed = { kind: "run"; options: Options } | { kind: "help" } | { kind: "error"; message: string };

export const USAGE = `Usage: edge-chat <room-url> [--nick NAME] [--owner-key KEY] [--download-dir DIR] [--json]

Chat in an edge-chat room from a terminal.

  <room-url>        the room's page, e.g. http://localhost:8787/r/lobby,
                    or its socket, ws://localhost:8787/api/rooms/lobby/websocket
  -n, --nick NAME   your nickname (asked for when missing, if stdin is a terminal)
  --owner-key KEY   join as the room's owner (the key from creating or claiming
                    it; an owner link, /r/<room>#owner=KEY, carries it too)
  -d, --download-dir DIR
                    save the files others share from now on to DIR (made if missing)
  --json            print every frame received as one JSON line
  -h, --help        show this help

In the room: /nick NAME, /me ACTION, /send FILE, /who, /topic, /help (moderating
too: /kick, /ban, /lock…), /quit (or Ctrl-D);
Ctrl-C leaves at once.
Piped input: every non-empty line is one message; exits once all are confirmed.

Exit codes: 0 done; 1 cannot reach the server, connection lost for good, or a
message refused; 2 bad arguments (URL, room name, nickname); 3 nickname taken.`;

/** The room paths the app serves: its page and its socket. */
const PAGE_PATH = /^\/r\/([^/]+)\/?$/;
const SOCKET_PATH = /^\/api\/rooms\/([^/]+)\/websocket\/?$/;
const EXAMPLE = "http://localhost:8787/r/lobby";

/** Parses `process.argv.slice(2)`. */
export function parseArgs(argv: readonly string[]): Parsed {
  let url: string | undefined;
  let nick: string | undefined;
  let json = false;
  let downloadDir: string | undefined;
  let ownerKey: string | undefined;
  let optionsEnded = false; // after "--", everything is positional
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!optionsEnded && arg.startsWith("-")) {
      if (arg === "--") optionsEnded = true;
      else if (arg === "-h" || arg === "--help") return { kind: "help" };
      else if (arg === "--json") json = true;
      else if (arg === "-n" || arg === "--nick" || arg.startsWith("--nick=")) {
        const value = arg.startsWith("--nick=") ? arg.slice("--nick=".length) : argv[++i];
        if (value === undefined) return { kind: "error", message: `${arg} needs a nickname, e.g. --nick Kartik.` };
        nick = value;
      } else if (arg === "-d" || arg === "--download-dir" || arg.startsWith("--download-dir=")) {
        const value = arg.startsWith("--download-dir=") ? arg.slice("--download-dir=".length) : argv[++i];
        if (value === undefined || value === "")
          return { kind: "error", message: `${arg} needs a folder, e.g. --download-dir ~/Downloads.` };
        downloadDir = value;
      } else if (arg === "--owner-key" || arg.startsWith("--owner-key=")) {
        const value = arg.startsWith("--owner-key=") ? arg.slice("--owner-key=".length) : argv[++i];
        if (value === undefined || value === "")
          return { kind: "error", message: `${arg} needs the room's owner key (from creating or claiming it).` };
        ownerKey = value;
      } else return { kind: "error", message: `Unknown option "${arg}".` };
    } else if (url === undefined) url = arg;
    else return { kind: "error", message: `Unexpected argument "${arg}": give one room URL.` };
  }
  if (url === undefined) return { kind: "error", message: `Which room? Give its URL, e.g. ${EXAMPLE}` };

  const target = parseRoomUrl(url);
  if (!target.ok) return { kind: "error", message: target.message };
  const options: Options = {
    socketUrl: target.socketUrl,
    given: url,
    room: target.room,
    json,
    httpBase: target.httpBase,
  };
  if (downloadDir !== undefined) options.downloadDir = downloadDir;
  // An owner link's key, unless --owner-key gives one.
  ownerKey ??= target.ownerKey;
  if (ownerKey !== undefined) options.ownerKey = ownerKey;
  if (nick !== undefined) {
    // Checked here, so that a bad --nick fails before any connection (the
    // room still checks the length, which only it knows).
    const checked = parseNick(nick, Number.MAX_SAFE_INTEGER);
    if (!checked.ok) return { kind: "error", message: `Invalid nickname: ${checked.message}` };
    options.nick = checked.nick;
  }
  return { kind: "run", options };
}

export type RoomUrl =
  | { ok: true; socketUrl: string; httpBase: string; room: string; ownerKey?: string }
  | { ok: false; message: string };

/**
 * A room's page or socket URL → its socket URL. http(s) and ws(s) are both
 * accepted with either path, since people paste what they have; the room name
 * is checked with the protocol's own rule, after percent-decoding as the
 * Worker does.
 */
export function parseRoomUrl(raw: string): RoomUrl {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { ok: false, message: `"${raw}" is not a URL. Give a room's URL, e.g. ${EXAMPLE}` };
  }
  const secure = url.protocol === "https:" || url.protocol === "wss:";
  if (!secure && url.protocol !== "http:" && url.protocol !== "ws:") {
    return { ok: false, message: `"${raw}" is not an http(s) or ws(s) URL. Give a room's URL, e.g. ${EXAMPLE}` };
  }
  const segment = (PAGE_PATH.exec(url.pathname) ?? SOCKET_PATH.exec(url.pathname))?.[1];
  if (segment === undefined) {
    return {
      ok: false,
      message: `"${raw}" is not a room's URL: expected ${url.protocol}//${url.host}/r/<room> or ${url.protocol}//${url.host}/api/rooms/<room>/websocket.`,
    };
  }
  let decoded: string;
  try {
    decoded = decodeURIComponent(segment);
  } catch {
    decoded = segment; // Broken percent-encoding: refused by the check below.
  }
  const room = parseRoomName(decoded);
  if (room === null) {
    return {
      ok: false,
      message: `Invalid room name "${decoded}": room names are 1–64 characters of a-z 0-9 - _, starting with a letter or digit.`,
    };
  }
  const ownerKey = new URLSearchParams(url.hash.slice(1)).get("owner") ?? undefined;
  return {
    ok: true,
    socketUrl: `${secure ? "wss" : "ws"}://${url.host}/api/rooms/${room}/websocket`,
    httpBase: `${secure ? "https" : "http"}://${url.host}`,
    room,
    ...(ownerKey === undefined || ownerKey === "" ? {} : { ownerKey }),
  };
}
