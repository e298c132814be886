/**
 * What every route of the Worker's HTTP API shares: the app's type, the one
 * shape of an error, and the per-IP refusal.
 */
import type { Context } from "hono";
import { configOf } from "./config";
import { secondsUntilNextWindow, withinIpLimit } from "./ip-rate-limit";
import { log } from "./log";

export type App = { Bindings: Env };

/** API errors share one shape: a stable code for programs, a sentence for people. */
export const apiError = (error: string, message: string) => ({ error, message });

export const BAD_ROOM_MESSAGE = "Room names are 1–64 characters of a-z, 0-9, - and _, starting with a letter or digit.";

/** The [[ratelimits]] bindings the Worker counts requests with. */
type IpLimit = "UPGRADE_RATE_LIMIT" | "ROOM_CREATE_RATE_LIMIT" | "UPLOAD_RATE_LIMIT";

/**
 * A 429 when the client's address has used up `limit` in the current
 * window, or null to go on.
 */
export async function ipLimitRefusal(c: Context<App>, ip: string | null, limit: IpLimit, what: string) {
  if (ip === null || !configOf(c.env).ipRateLimits) return null;
  if (await withinIpLimit(c.env[limit], ip, limit)) return null;
  const seconds = secondsUntilNextWindow(Date.now());
  log("ip_rate_limited", { ip, limit });
  return c.json(apiError("rate_limited", `Too many ${what} from your address; try again in ${seconds} s.`), 429, {
    "Retry-After": String(seconds),
  });
}
