/**
 * Limits per client IP address, across every room: how often one address may
 * open WebSockets, create rooms and send frames. They sit on top of the
 * per-connection token bucket (src/shared/rate-limit.ts), which cannot see that a
 * hundred connections come from one place.
 *
 * The counting is done by the Workers Rate Limiting binding ([[ratelimits]]
 * in wrangler.toml; emulated by wrangler dev): fixed windows per key, shared
 * by every room and Worker instance in a location, with no storage of ours.
 */
import { log } from "./log";

/**
 * The `period` of every [[ratelimits]] binding in wrangler.toml. The binding
 * answers only yes or no, so Retry-After is worked out from the window; a
 * test checks that wrangler.toml agrees.
 */
export const IP_LIMIT_PERIOD_SECONDS = 60;

/** What the room and the Worker use of a Rate Limiting binding (its type is
 * RateLimit in the Workers types; this module also runs in Node tests). */
export interface RateLimiter {
  limit(options: { key: string }): Promise<{ success: boolean }>;
}

/** The Worker passes the client's address to the room in this header. */
export const CLIENT_IP_HEADER = "X-Client-IP";

/**
 * The client's address as the limits count it, from what Cloudflare reports
 * (CF-Connecting-IP). An IPv4 address counts alone; an IPv6 address counts
 * with its whole /64, the block one customer line or one server is given (a
 * single host can use any of its 2^64 addresses, so counting them apart
 * would count nothing). An IPv4-mapped IPv6 address is its IPv4 address.
 * Every request from the internet carries the header; only requests made
 * inside the platform (tests, other Workers) lack it, and those are not
 * limited per address.
 */
export function clientIp(headers: Headers): string | null {
  const ip = headers.get("CF-Connecting-IP")?.trim();
  return ip === undefined || ip === "" ? null : addressKey(ip);
}

/** "2001:db8:a:b::/64" for any address in that /64, "203.0.113.7" for IPv4;
 * anything unreadable is kept as it is (it still counts, alone). */
export function addressKey(ip: string): string {
  if (!ip.includes(":")) return ip;
  const groups = ipv6Groups(ip);
  if (groups === null) return ip;
  // ::ffff:a.b.c.d is an IPv4 client seen through an IPv6 socket.
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    return [groups[6]! >> 8, groups[6]! & 255, groups[7]! >> 8, groups[7]! & 255].join(".");
  }
  return `${groups
    .slice(0, 4)
    .map((g) => g.toString(16))
    .join(":")}::/64`;
}

/** The eight 16-bit groups of an IPv6 address (with "::" and a dotted IPv4
 * tail expanded, a zone id dropped), or null when it is not one. */
function ipv6Groups(raw: string): number[] | null {
  let text = raw.toLowerCase().replace(/%.*$/, "");
  const dotted = /(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (dotted !== null) {
    const bytes = dotted.slice(1).map(Number);
    if (bytes.some((b) => b > 255)) return null;
    text = `${text.slice(0, dotted.index)}${((bytes[0]! << 8) | bytes[1]!).toString(16)}:${((bytes[2]! << 8) | bytes[3]!).toString(16)}`;
  }
  const halves = text.split("::");
  if (halves.length > 2) return null;
  const parse = (part: string) => (part === "" ? [] : part.split(":"));
  const head = parse(halves[0]!);
  const tail = halves.length === 2 ? parse(halves[1]!) : [];
  const missing = 8 - head.length - tail.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return null;
  const groups = [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill("0"), ...tail];
  if (!groups.every((g) => /^[0-9a-f]{1,4}$/.test(g))) return null;
  return groups.map((g) => parseInt(g, 16));
}

/** When the current window ends and the count starts again (ms since the epoch). */
export function windowEnd(now: number): number {
  const period = IP_LIMIT_PERIOD_SECONDS * 1000;
  return (Math.floor(now / period) + 1) * period;
}

/** Whole seconds until the current window ends (1 or more): the Retry-After. */
export function secondsUntilNextWindow(now: number): number {
  return Math.ceil((windowEnd(now) - now) / 1000);
}

/**
 * Counts one request from `ip`; false when the address is over its limit.
 * A failing limiter lets the request through (and logs): an outage of the
 * counter must not take the chat down with it.
 */
export async function withinIpLimit(limiter: RateLimiter, ip: string, limit: string): Promise<boolean> {
  try {
    return (await limiter.limit({ key: ip })).success;
  } catch (error) {
    log("internal_error", { limit, error: String(error) });
    return true;
  }
}

/**
 * The per-IP frame limit inside a room. A room's handlers are synchronous
 * (that is what keeps every socket's frames in order), so they cannot wait
 * for the binding's answer: each frame is counted in the background, and
 * once an answer says the address is over, the room refuses its frames until
 * the window ends. A room therefore learns one frame late: past the limit,
 * an address gets at most one more frame into each room it is in.
 */
export class IpFrameLimit {
  readonly #limiter: RateLimiter;
  readonly #room: () => string;
  /** Addresses known to be over their limit, and when their window ends (ms). */
  readonly #blockedUntil = new Map<string, number>();

  constructor(limiter: RateLimiter, room: () => string) {
    this.#limiter = limiter;
    this.#room = room;
  }

  /** Counts a frame from `ip`, or returns the seconds to wait when the address is over its limit. */
  admit(ip: string, now: number): number | null {
    const until = this.#blockedUntil.get(ip);
    if (until !== undefined) {
      if (now < until) return Math.ceil((until - now) / 1000);
      this.#blockedUntil.delete(ip);
    }
    void withinIpLimit(this.#limiter, ip, "MESSAGE_RATE_LIMIT").then((within) => {
      if (within || this.#blockedUntil.has(ip)) return;
      this.#blockedUntil.set(ip, windowEnd(Date.now()));
      log("ip_rate_limited", { room: this.#room(), ip, limit: "MESSAGE_RATE_LIMIT" });
    });
    return null;
  }
}
