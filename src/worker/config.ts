/**
 * The limits of every room, read once from the Worker's environment
 * (`[vars]` in wrangler.toml, or `wrangler dev --var NAME:VALUE`).
 *
 * A missing variable takes its default; a present but invalid one is an error
 * that names the variable, the value and the allowed range, raised when the
 * Worker or a room starts rather than somewhere deep in a handler.
 */

import type { IceServer } from "../shared/protocol";

/** A whole-number limit: its variable, its default and its allowed range. */
interface IntegerSetting {
  env: string;
  default: number;
  min: number;
  max: number;
}

/** Every numeric limit, with its default; README.md lists the same table. */
export const LIMITS = {
  /** Longest message text, in characters (code points), after trimming. */
  maxMessageLength: { env: "MAX_MESSAGE_LENGTH", default: 4000, min: 1, max: 100_000 },
  /** Longest nickname, in characters, after trimming and NFC. */
  maxNickLength: { env: "MAX_NICK_LENGTH", default: 32, min: 1, max: 256 },
  /** Messages sent in `welcome` on a plain join. */
  historyOnJoin: { env: "HISTORY_ON_JOIN", default: 100, min: 0, max: 10_000 },
  /** Most messages sent in `welcome` on a resume (`since`); beyond that: `truncated`. */
  historyOnResume: { env: "HISTORY_ON_RESUME", default: 1000, min: 0, max: 10_000 },
  /** Most messages in one answer to a `history` request (scroll-back). */
  historyPage: { env: "HISTORY_PAGE", default: 100, min: 1, max: 1000 },
  /** Most bytes of messages (as JSON) in one welcome, resume or scroll-back
   * answer, whatever the counts above allow: the rest is for scroll-back. */
  historyMaxBytes: { env: "HISTORY_MAX_BYTES", default: 262_144, min: 16_384, max: 524_288 },
  /** Messages kept per room; the oldest are deleted as new ones arrive. */
  historyRetention: { env: "HISTORY_RETENTION", default: 10_000, min: 1, max: 10_000_000 },
  /** Open WebSockets per room, joined or not; the next one gets `room_full`. */
  maxConnectionsPerRoom: { env: "MAX_CONNECTIONS_PER_ROOM", default: 1000, min: 1, max: 32_768 },
  /** Open WebSockets per room from one address (an IPv6 address counts with
   * its /64); the next one gets `too_many_connections`. */
  maxConnectionsPerAddress: { env: "MAX_CONNECTIONS_PER_ADDRESS", default: 32, min: 1, max: 32_768 },
  /** A socket that has not joined this long after it opened is closed: an
   * unjoined socket holds a place in the room and sees nothing. */
  joinTimeoutMs: { env: "JOIN_TIMEOUT_MS", default: 10_000, min: 1000, max: 600_000 },
  /** Largest incoming WebSocket message in UTF-8 bytes; beyond it: `too_long`, close 1009.
   * (Cloudflare refuses incoming messages over 1 MiB anyway.) */
  maxFrameBytes: { env: "MAX_FRAME_BYTES", default: 16_384, min: 256, max: 1_048_576 },
  /** Token bucket per connection: frames that may arrive at once (0 switches the limiter off)… */
  rateLimitBurst: { env: "RATE_LIMIT_BURST", default: 10, min: 0, max: 1_000_000 },
  /** …and how many it regains per second. */
  rateLimitPerSecond: { env: "RATE_LIMIT_PER_SECOND", default: 5, min: 0, max: 1_000_000 },
  /** Token bucket per connection for every frame of any kind, joined or not,
   * counted before it is read: frames that may arrive at once (0 switches
   * it off, for benchmarks)… */
  frameRateBurst: { env: "FRAME_RATE_BURST", default: 200, min: 0, max: 1_000_000 },
  /** …and how many it regains per second. */
  frameRatePerSecond: { env: "FRAME_RATE_PER_SECOND", default: 50, min: 1, max: 1_000_000 },
  /** Refused frames a connection may send in a row (one is forgiven per
   * second); past that it is closed with 1008 and `too_many_errors`. */
  maxRefusals: { env: "MAX_REFUSALS", default: 30, min: 1, max: 1_000_000 },
  /** Least time between two relayed `typing` notices of one user. */
  typingIntervalMs: { env: "TYPING_INTERVAL_MS", default: 2000, min: 0, max: 3_600_000 },
  /** A socket that has pinged and then stays silent this long is dropped as
   * dead (0: never). Sockets that never ping are left to the runtime. */
  pingTimeoutMs: { env: "PING_TIMEOUT_MS", default: 90_000, min: 0, max: 3_600_000 },
  /** Largest file one upload may carry, in bytes (10 MiB); beyond it: HTTP 413.
   * (A Worker accepts request bodies up to 100 MB on the Free and Pro plans.) */
  maxFileBytes: { env: "MAX_FILE_BYTES", default: 10_485_760, min: 0, max: 100_000_000 },
  /** Bytes of files a room may hold at once (1 GiB); retention frees them. */
  roomFilesQuotaBytes: { env: "ROOM_FILES_QUOTA_BYTES", default: 1_073_741_824, min: 0, max: 1_099_511_627_776 },
  /** Bytes of files one person (one identity, and one address) may share
   * in a room per hour, so that nobody can fill the room's quota alone. */
  uploadBytesPerHour: { env: "UPLOAD_BYTES_PER_HOUR", default: 104_857_600, min: 0, max: 1_099_511_627_776 },
  /** Most people in the room's call at once: each sends to every other (a mesh). */
  maxCallParticipants: { env: "MAX_CALL_PARTICIPANTS", default: 6, min: 2, max: 50 },
  /** Largest `signal` frame, in UTF-8 bytes (an SDP offer is 3–10 kB); beyond it: `too_long`. */
  maxSignalBytes: { env: "MAX_SIGNAL_BYTES", default: 12_000, min: 1_000, max: 1_048_576 },
  /** Token bucket for `signal` frames per connection (ICE candidates come in bursts)… */
  signalRateBurst: { env: "SIGNAL_RATE_BURST", default: 100, min: 1, max: 1_000_000 },
  /** …and how many it regains per second. */
  signalRatePerSecond: { env: "SIGNAL_RATE_PER_SECOND", default: 20, min: 1, max: 1_000_000 },
  /** A room nobody has joined or left for this many days deletes its
   * messages, sessions and files, and so stops existing (0: rooms are kept
   * for ever). A room nobody ever joined keeps nothing at all. */
  roomExpiryDays: { env: "ROOM_EXPIRY_DAYS", default: 90, min: 0, max: 36_500 },
  /** How long a session token stays valid after its last use. */
  sessionTtlHours: { env: "SESSION_TTL_HOURS", default: 24, min: 1, max: 24 * 365 },
  /** History the room serves to one person (search, scroll-back, who
   * reacted, a welcome's history), all people together, at once, in units
   * of 32 KiB (at least one a read)… */
  roomReadsBurst: { env: "ROOM_READS_BURST", default: 40, min: 1, max: 1_000_000 },
  /** …and per second after that; reads wait their turn beyond it, and a
   * welcome's history is cut to what is left (read-queue.ts). */
  roomReadsPerSecond: { env: "ROOM_READS_PER_SECOND", default: 20, min: 1, max: 1_000_000 },
  /** Edits, and deletions by members, the room takes at once, all people
   * together (each takes words out of the search index)… */
  roomEditsBurst: { env: "ROOM_EDITS_BURST", default: 5, min: 1, max: 1_000_000 },
  /** …and per second after that; beyond it `rate_limited`. */
  roomEditsPerSecond: { env: "ROOM_EDITS_PER_SECOND", default: 5, min: 1, max: 1_000_000 },
  /** Most different words of one message its search index takes (the first
   * ones): what an edit or a deletion costs the index grows with them. */
  searchWordsPerMessage: { env: "SEARCH_WORDS_PER_MESSAGE", default: 32, min: 1, max: 1000 },
  /** How long someone kicked (identity and address) must wait to come back. */
  kickCooldownSeconds: { env: "KICK_COOLDOWN_SECONDS", default: 60, min: 0, max: 86_400 },
} as const satisfies Record<string, IntegerSetting>;

export type Config = { readonly [K in keyof typeof LIMITS]: number } & {
  /** Origins besides the app's own allowed to open WebSockets (ALLOWED_ORIGINS). */
  readonly allowedOrigins: ReadonlySet<string>;
  /** Whether the per-IP limits ([[ratelimits]] in wrangler.toml) apply (IP_RATE_LIMITS). */
  readonly ipRateLimits: boolean;
  /** STUN and TURN servers for calls (ICE_SERVERS, plus TURN_URLS/TURN_USERNAME/TURN_CREDENTIAL). */
  readonly iceServers: readonly IceServer[];
};

export class ConfigError extends Error {
  override name = "ConfigError";
}

function readInteger(env: Record<string, unknown>, setting: IntegerSetting): number {
  const raw = env[setting.env];
  if (raw === undefined || raw === "") return setting.default;
  const value = typeof raw === "number" ? raw : typeof raw === "string" && /^\s*\d+\s*$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(value) || value < setting.min || value > setting.max) {
    throw new ConfigError(
      `${setting.env} must be a whole number from ${setting.min} to ${setting.max}; got ${JSON.stringify(raw)}. ` +
        `Fix it in wrangler.toml [vars] or in --var (the default is ${setting.default}).`,
    );
  }
  return value;
}

function readOrigins(raw: unknown): ReadonlySet<string> {
  if (raw === undefined || raw === "") return new Set();
  if (typeof raw !== "string") throw new ConfigError("ALLOWED_ORIGINS must be a comma-separated string of origins.");
  const origins = new Set<string>();
  for (const part of raw.split(",")) {
    const entry = part.trim();
    if (entry === "") continue;
    let origin: string;
    try {
      origin = new URL(entry).origin;
    } catch {
      origin = "null";
    }
    // An origin is scheme://host[:port] with nothing after it.
    if (origin === "null" || origin !== entry.replace(/\/$/, "")) {
      throw new ConfigError(
        `ALLOWED_ORIGINS: ${JSON.stringify(entry)} is not an origin; write it as https://example.com (no path).`,
      );
    }
    origins.add(origin);
  }
  return origins;
}

function readSwitch(raw: unknown, name: string, fallback: boolean): boolean {
  if (raw === undefined || raw === "") return fallback;
  if (raw === "on" || raw === true) return true;
  if (raw === "off" || raw === false) return false;
  throw new ConfigError(`${name} must be "on" or "off"; got ${JSON.stringify(raw)}.`);
}

const ICE_EXAMPLE = 'e.g. [{"urls":"stun:stun.cloudflare.com:3478"}], or [] for none';

/** ICE_SERVERS (a JSON array of RTCIceServer), then a TURN server from the
 * TURN_* secrets when they are set, so credentials stay out of wrangler.toml. */
function readIceServers(vars: Record<string, unknown>): IceServer[] {
  const raw = vars.ICE_SERVERS;
  let servers: IceServer[] = [];
  if (raw !== undefined && raw !== "") {
    let value: unknown = raw;
    if (typeof raw === "string") {
      try {
        value = JSON.parse(raw);
      } catch {
        throw new ConfigError(`ICE_SERVERS must be a JSON array (${ICE_EXAMPLE}); it is not JSON.`);
      }
    }
    const urlsOk = (urls: unknown) =>
      (typeof urls === "string" && /^(stun|stuns|turn|turns):/.test(urls)) ||
      (Array.isArray(urls) &&
        urls.length > 0 &&
        urls.every((u) => typeof u === "string" && /^(stun|stuns|turn|turns):/.test(u)));
    if (
      !Array.isArray(value) ||
      !value.every((server) => typeof server === "object" && server !== null && urlsOk((server as IceServer).urls))
    ) {
      throw new ConfigError(`ICE_SERVERS must be a JSON array of {"urls": "stun:…" or "turn:…"} (${ICE_EXAMPLE}).`);
    }
    servers = value.map((server: IceServer) => {
      const entry: IceServer = { urls: server.urls };
      if (typeof server.username === "string") entry.username = server.username;
      if (typeof server.credential === "string") entry.credential = server.credential;
      return entry;
    });
  }
  const turnUrls =
    typeof vars.TURN_URLS === "string"
      ? vars.TURN_URLS.split(",")
          .map((u) => u.trim())
          .filter((u) => u !== "")
      : [];
  if (turnUrls.length > 0) {
    if (!turnUrls.every((u) => /^turns?:/.test(u)))
      throw new ConfigError("TURN_URLS must be comma-separated turn: or turns: URLs.");
    const { TURN_USERNAME: username, TURN_CREDENTIAL: credential } = vars;
    if (typeof username !== "string" || typeof credential !== "string") {
      throw new ConfigError(
        "TURN_URLS is set, so TURN_USERNAME and TURN_CREDENTIAL must be too (wrangler secret put TURN_CREDENTIAL).",
      );
    }
    servers.push({ urls: turnUrls, username, credential });
  }
  return servers;
}

/** Reads and checks every limit; throws a ConfigError that says what to fix. */
export function parseConfig(env: object): Config {
  const vars = env as Record<string, unknown>;
  const limits = Object.fromEntries(
    Object.entries(LIMITS).map(([key, setting]) => [key, readInteger(vars, setting)]),
  ) as { [K in keyof typeof LIMITS]: number };
  return {
    ...limits,
    allowedOrigins: readOrigins(vars.ALLOWED_ORIGINS),
    ipRateLimits: readSwitch(vars.IP_RATE_LIMITS, "IP_RATE_LIMITS", true),
    iceServers: readIceServers(vars),
  };
}

const parsed = new WeakMap<object, Config>();

/** parseConfig, once per environment object: the Worker calls it per request. */
export function configOf(env: object): Config {
  let config = parsed.get(env);
  if (config === undefined) {
    config = parseConfig(env);
    parsed.set(env, config);
  }
  return config;
}
