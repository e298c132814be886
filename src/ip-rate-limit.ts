/**
 * Limits per client IP address, across every room: how often one address may
 * open WebSockets, create rooms and send frames. They sit on top of the
 * per-connection token bucket (src/rate-limit.ts), which cannot see that a
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
 * The client's address, as Cloudflare reports it. Every request from the
 * internet carries it; only requests made inside the platform (tests, other
 * Workers) lack it, and those are not limited per IP.
 */
export function clientIp(headers: Headers): string | null {
  const ip = headers.get("CF-Connecting-IP")?.trim();
  return ip === undefined || ip === "" ? null : ip;
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
