/**
 * The Worker: the front door of every room. It answers the small HTTP API,
 * checks each WebSocket upgrade (room name, Origin) and hands the socket to
 * the room's Durable Object. Static files in public/ are served before this
 * code runs; only /api/* and /r/* reach it (see wrangler.toml).
 */
// The "tiny" preset: a handful of routes needs no faster router, and the bundle is smaller.
import { Hono } from "hono/tiny";
import { BAD_ROOM_MESSAGE, Refusal, apiError, countAgainstIpLimit, refuse, roomRoutes, type App } from "./api";
import { ConfigError, configOf } from "./config";
import { fileRoutes } from "./file-routes";
import { newRoomId } from "./ids";
import { CLIENT_IP_HEADER, clientIp } from "./ip-rate-limit";
import { log, pathForLog } from "./log";
import { parseRoomName } from "../shared/protocol";

export { Room } from "./room";

const app = new Hono<App>();

/**
 * Security headers for everything the Worker answers itself (the static pages
 * get theirs from public/_headers). API answers are JSON or plain text, never
 * a page: nothing may run, load or frame them.
 */
const SECURITY_HEADERS: readonly [string, string][] = [
  ["Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"],
  ["X-Content-Type-Options", "nosniff"],
  ["Referrer-Policy", "no-referrer"],
  ["Permissions-Policy", "camera=(), microphone=(), geolocation=()"],
  ["X-Frame-Options", "DENY"],
];

app.use("*", async (c, next) => {
  await next();
  // A 101 carries the socket and its headers are immutable: it needs none,
  // and touching them would throw (the trap secureHeaders() falls into).
  if (c.res.status === 101) return;
  // Responses from fetch (e.g. ASSETS) are immutable too: copy, then add
  // what their own headers lack. A page keeps the policy public/_headers
  // gives it: the API's "nothing may load" would stop its script.
  const response = new Response(c.res.body, c.res);
  const page = response.headers.get("Content-Type")?.startsWith("text/html") === true;
  for (const [name, value] of SECURITY_HEADERS) {
    if (page && name === "Content-Security-Policy") continue;
    if (!response.headers.has(name)) response.headers.set(name, value);
  }
  c.res = response;
});

// Configuration is checked before the first API answer, so a bad limit shows
// up at once with the variable to fix instead of inside some room later.
app.use("/api/*", async (c, next) => {
  configOf(c.env);
  await next();
});

app.get("/api/health", (c) => c.json({ ok: true }));

// A private room, owned by whoever creates it: the owner key is in this
// answer only (the room keeps its hash).
app.post("/api/rooms", async (c) => {
  await countAgainstIpLimit(c, clientIp(c.req.raw.headers), "ROOM_CREATE_RATE_LIMIT", "new rooms");
  const room = newRoomId();
  const ownerKey = await c.env.ROOMS.getByName(room).claim();
  if (ownerKey === null) throw new Error("a new private room already had an owner");
  // Rooms are deleted after this many days without anyone joining (0: never).
  const expiresAfterIdleDays = configOf(c.env).roomExpiryDays;
  return c.json({ room, url: `/r/${room}`, ownerKey, expiresAfterIdleDays }, 201);
});

// Every route of one room: the name is checked here, once.
app.use("/api/rooms/:room/*", roomRoutes);

// How many people are in the room now. The room counts its sockets from
// memory and never opens its database for it: looking up a room nobody uses
// stores nothing, or a script could fill the disk with rooms.
app.get("/api/rooms/:room", async (c) => {
  const online = await c.env.ROOMS.getByName(c.var.room).online();
  return c.json({ room: c.var.room, url: `/r/${c.var.room}`, online });
});

// A named room nobody owns yet, claimed: counted like creating a room, since
// it gives the room storage of its own.
app.post("/api/rooms/:room/claim", async (c) => {
  await countAgainstIpLimit(c, clientIp(c.req.raw.headers), "ROOM_CREATE_RATE_LIMIT", "rooms created or claimed");
  const ownerKey = await c.env.ROOMS.getByName(c.var.room).claim();
  if (ownerKey === null) {
    refuse(409, "already_claimed", `#${c.var.room} already has an owner; ask them to make you a moderator.`);
  }
  return c.json({ room: c.var.room, ownerKey }, 201);
});

// The upgrade route returns the object's response untouched: a 101 response
// carries the socket, and its headers are immutable (so no header middleware
// such as secureHeaders() or cors() may run on this route).
app.get("/api/rooms/:room/websocket", async (c) => {
  if (c.req.header("Upgrade")?.toLowerCase() !== "websocket") {
    refuse(426, "upgrade_required", "This is a WebSocket endpoint: connect with a WebSocket client.", {
      Upgrade: "websocket",
    });
  }
  // Browsers send Origin on every WebSocket and let any site open one, so
  // without this check any page could chat in the name of its visitors
  // (cross-site WebSocket hijacking). Programs send no Origin and are let in.
  const origin = c.req.header("Origin");
  if (origin !== undefined && origin !== new URL(c.req.url).origin && !configOf(c.env).allowedOrigins.has(origin)) {
    refuse(
      403,
      "forbidden_origin",
      `Pages from ${origin} may not open this room; add the origin to ALLOWED_ORIGINS to allow it.`,
    );
  }
  // Counted after the cheap checks, so that a malformed request costs no quota.
  const ip = clientIp(c.req.raw.headers);
  await countAgainstIpLimit(c, ip, "UPGRADE_RATE_LIMIT", "connections");
  const headers = new Headers(c.req.raw.headers);
  // The room limits frames per address; a client cannot choose its own.
  if (ip === null) headers.delete(CLIENT_IP_HEADER);
  else headers.set(CLIENT_IP_HEADER, ip);
  return c.env.ROOMS.getByName(c.var.room).fetch(new Request(c.req.raw, { headers }));
});

app.route("/", fileRoutes);

// Room pages: one page for every room, after a check of the name. A name in
// another case is sent to its canonical, lower-case URL so links agree. A
// name that cannot be a room gets a 400: a browser gets the room page, which
// says so in words and offers the way home; a program gets the JSON error.
app.get("/r/:room", async (c) => {
  const raw = c.req.param("room");
  const room = parseRoomName(raw);
  const page = (): Promise<Response> =>
    c.env.ASSETS.fetch(new Request(new URL("/room", c.req.url), { headers: c.req.raw.headers }));
  if (room === null) {
    if (!c.req.header("Accept")?.includes("text/html")) refuse(400, "bad_room", BAD_ROOM_MESSAGE);
    const { body, headers } = await page();
    return new Response(body, { status: 400, headers });
  }
  if (room !== raw) return c.redirect(`/r/${room}`, 301);
  return page();
});

app.notFound((c) => c.json(apiError("not_found", `Nothing at ${new URL(c.req.url).pathname}.`), 404));

app.onError((error, c) => {
  // A refusal: the client's doing, told in the one shape every API error has.
  if (error instanceof Refusal) return c.json(apiError(error.code, error.message), error.status, error.headers);
  if (error instanceof ConfigError) {
    // The operator's mistake: the fix goes to the operator's log, never to
    // whoever happens to call (a configuration is nobody else's business).
    log("config_error", { error: error.message });
    const message = "The server is misconfigured, so it cannot answer; its operator will find what to fix in the logs.";
    return c.json(apiError("config_error", message), 500);
  }
  log("internal_error", { path: pathForLog(new URL(c.req.url).pathname), error: String(error) });
  return c.json(apiError("internal", "Something went wrong on the server; please retry."), 500);
});

export default app;
