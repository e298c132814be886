/**
 * What every route of the Worker's HTTP API shares: the app's type, the one
 * shape of a refusal, the room-name check and the per-IP limit.
 *
 * A route refuses by throwing (`refuse(…)`, or the limit's and the room
 * name's middleware doing it); `app.onError` in worker.ts shapes every
 * refusal the same way: `{"error": code, "message": sentence}` with its
 * status and headers.
 */
import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { parseRoomName } from "../shared/protocol";
import { configOf } from "./config";
import { secondsUntilNextWindow, withinIpLimit } from "./ip-rate-limit";
import { log } from "./log";

export type App = {
  Bindings: Env;
  /** Set by `roomRoutes` for /api/rooms/:room and below: the room's canonical name. */
  Variables: { room: string };
};

/** API errors share one shape: a stable code for programs, a sentence for people. */
export const apiError = (error: string, message: string) => ({ error, message });

export const BAD_ROOM_MESSAGE = "Room names are 1–64 characters of a-z, 0-9, - and _, starting with a letter or digit.";

/** A refusal of an API request, thrown anywhere and answered by app.onError. */
export class Refusal extends HTTPException {
  constructor(
    status: ContentfulStatusCode,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(status, { message });
  }
}

/** Refuses the request: `status`, `{"error": code, "message": message}`, `headers`. */
export function refuse(
  status: ContentfulStatusCode,
  code: string,
  message: string,
  headers?: Record<string, string>,
): never {
  throw new Refusal(status, code, message, headers);
}

/** For /api/rooms/:room and everything below it: the name checked once,
 * refused with bad_room, and handed to the routes as `c.var.room`. */
export const roomRoutes = createMiddleware<App>(async (c, next) => {
  const room = parseRoomName(c.req.param("room") ?? "");
  if (room === null) refuse(400, "bad_room", BAD_ROOM_MESSAGE);
  c.set("room", room);
  await next();
});

/** The [[ratelimits]] bindings the Worker counts requests with. */
type IpLimit = "UPGRADE_RATE_LIMIT" | "ROOM_CREATE_RATE_LIMIT" | "UPLOAD_RATE_LIMIT";

/** Refuses with 429 when the client's address has used up `limit` in the current window. */
export async function countAgainstIpLimit(c: Context<App>, ip: string | null, limit: IpLimit, what: string) {
  if (ip === null || !configOf(c.env).ipRateLimits) return;
  if (await withinIpLimit(c.env[limit], ip, limit)) return;
  const seconds = secondsUntilNextWindow(Date.now());
  log("ip_rate_limited", { ip, limit });
  refuse(429, "rate_limited", `Too many ${what} from your address; try again in ${seconds} s.`, {
    "Retry-After": String(seconds),
  });
}
