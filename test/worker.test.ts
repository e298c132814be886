/**
 * The Worker's HTTP surface: routes, room names, the Upgrade and Origin rules.
 * Requests go through the Worker's own fetch, as the runtime would send them
 * (the static-assets layer in front of it is not part of this path).
 */
import { createExecutionContext } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import worker from "../src/worker/worker";
import { describe, expect, it } from "vitest";
import { parseRoomName } from "../src/shared/protocol";
import { ORIGIN, TestSocket, aliceAndBob, freshRoom, upgrade } from "./socket";

const get = (path: string, init?: RequestInit) => exports.default.fetch(`${ORIGIN}${path}`, init);

describe("GET /api/health", () => {
  it("answers 200", async () => {
    const response = await get("/api/health");
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ ok: true });
  });
});

describe("POST /api/rooms", () => {
  it("creates an unguessable private room that is itself a valid room name", async () => {
    const rooms = new Set<string>();
    for (let i = 0; i < 20; i++) {
      const response = await get("/api/rooms", { method: "POST" });
      expect(response.status).toBe(201);
      const body = await response.json<{ room: string; url: string }>();
      expect(body.room).toMatch(/^[a-z2-7]{26}$/); // 26 × 5 = 130 random bits
      expect(parseRoomName(body.room)).toBe(body.room);
      expect(body.url).toBe(`/r/${body.room}`);
      rooms.add(body.room);
    }
    expect(rooms.size).toBe(20);
  });

  it("only answers POST", async () => {
    expect((await get("/api/rooms")).status).toBe(404);
  });
});

describe("GET /api/rooms/:room", () => {
  it("answers the room's canonical name, its page and how many people are in it now", async () => {
    const room = freshRoom();
    const lookUp = async () => (await get(`/api/rooms/${room}`)).json();
    expect(await (await get(`/api/rooms/${room.toUpperCase()}`)).json()).toEqual({
      room,
      url: `/r/${room}`,
      online: 0,
    });
    // People count; a socket that has not joined is nobody yet.
    const { alice, bob } = await aliceAndBob(room);
    const lurker = await TestSocket.open(room);
    expect(await lookUp()).toEqual({ room, url: `/r/${room}`, online: 2 });
    bob.close();
    await alice.expect("left");
    expect(await lookUp()).toEqual({ room, url: `/r/${room}`, online: 1 });
    alice.close();
    lurker.close();
  });

  it("refuses invalid room names with 400", async () => {
    const response = await get("/api/rooms/-leading-dash");
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: "bad_room" });
  });
});

describe("room names", () => {
  it.each([
    ["lobby", "lobby"],
    ["Lobby", "lobby"],
    ["a", "a"],
    ["0day", "0day"],
    ["my_room-2", "my_room-2"],
    ["x".repeat(64), "x".repeat(64)],
  ])("accepts %j as %j", (raw, name) => {
    expect(parseRoomName(raw)).toBe(name);
  });

  it.each([
    "",
    "-lobby",
    "_lobby",
    "x".repeat(65),
    "lob by",
    "lob.by",
    "lob/by",
    "lobby%20",
    "caf\u00e9",
    "\u212aelvin", // KELVIN SIGN lower-cases to an ASCII "k": a look-alike of "kelvin"
    "lobb\u0443", // Cyrillic u
    "\uff4c\uff4f\uff42\uff42\uff59", // full-width "lobby"
  ])("refuses %j", (raw) => {
    expect(parseRoomName(raw)).toBeNull();
  });

  it("decodes percent-encoding in the path before checking", async () => {
    const response = await get("/api/rooms/%4Cobby");
    expect(await response.json()).toEqual({ room: "lobby", url: "/r/lobby", online: 0 });
    expect((await get("/api/rooms/%E2%84%AAelvin")).status).toBe(400); // the Kelvin sign again
    expect((await get("/api/rooms/a%2Fb/websocket", { headers: { Upgrade: "websocket" } })).status).not.toBe(101);
  });

  it.each([
    ["an encoded slash", "a%2Fb"],
    ["an encoded dot-dot", "%2e%2e"],
    ["an encoded NUL", "lobby%00"],
    ["double encoding", "lobby%252F"],
    ["an overlong UTF-8 slash", "%C0%AF"],
    ["malformed percent-encoding", "lobby%"],
    ["an encoded space", "lobby%20"],
    ["an encoded Cyrillic look-alike", "lobb%D1%83"],
    ["an encoded full-width letter", "%EF%BD%8Cobby"],
  ])("refuses a room name with %s", async (_, raw) => {
    for (const path of [`/api/rooms/${raw}`, `/r/${raw}`]) {
      const response = await get(path);
      expect(response.status, path).toBeGreaterThanOrEqual(400);
      expect(response.status, path).toBeLessThan(500);
    }
    const upgraded = await get(`/api/rooms/${raw}/websocket`, { headers: { Upgrade: "websocket" } });
    expect(upgraded.status).toBeGreaterThanOrEqual(400);
    expect(upgraded.webSocket).toBeNull();
  });

  it("sends an encoded capital to the canonical room page, and to the same room", async () => {
    const page = await get("/r/%4Cobby", { redirect: "manual" });
    expect(page.status).toBe(301);
    expect(page.headers.get("Location")).toBe("/r/lobby");
    const socket = await TestSocket.open("%4Cobby");
    const welcome = await socket.joinAs("Percy");
    expect(welcome.room).toBe("lobby");
    socket.close();
  });
});

describe("GET /api/rooms/:room/websocket", () => {
  it("upgrades, and returns the object's 101 response untouched", async () => {
    const response = await upgrade(freshRoom());
    expect(response.status).toBe(101);
    expect(response.webSocket).not.toBeNull();
    response.webSocket!.accept();
    response.webSocket!.close();
  });

  it("answers 426 without Upgrade: websocket", async () => {
    const response = await get(`/api/rooms/${freshRoom()}/websocket`);
    expect(response.status).toBe(426);
    expect(response.headers.get("Upgrade")).toBe("websocket");
    expect(await response.json()).toMatchObject({ error: "upgrade_required" });
    expect((await get(`/api/rooms/${freshRoom()}/websocket`, { headers: { Upgrade: "h2c" } })).status).toBe(426);
  });

  it("accepts Upgrade in any case", async () => {
    const response = await get(`/api/rooms/${freshRoom()}/websocket`, { headers: { Upgrade: "WebSocket" } });
    expect(response.status).toBe(101);
    response.webSocket!.accept();
    response.webSocket!.close();
  });

  it("answers 400 for an invalid room name", async () => {
    const response = await upgrade("no!");
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: "bad_room" });
  });

  it("puts differently-cased names in the same room", async () => {
    const room = freshRoom();
    const [alice] = await TestSocket.join(room.toUpperCase(), "Alice");
    const [, welcome] = await TestSocket.join(room, "Bob");
    expect(welcome.room).toBe(room);
    expect(welcome.users.map((u) => u.nick).sort()).toEqual(["Alice", "Bob"]);
    expect((await alice.expect("joined")).user.nick).toBe("Bob");
  });

  describe("the Origin rule (cross-site WebSocket hijacking)", () => {
    it.each([
      ["no Origin (programs, terminals)", undefined, 101],
      ["the app's own origin", ORIGIN, 101],
      ["an origin in ALLOWED_ORIGINS", "https://friend.example", 101],
      ["another site", "https://evil.example", 403],
      ["the own host on another scheme", ORIGIN.replace("http:", "https:"), 403],
      ["the own host on another port", `${ORIGIN}:8080`, 403],
      ["a look-alike suffix", `${ORIGIN}.evil.example`, 403],
      ["the opaque origin of a sandboxed page or file", "null", 403],
    ])("%s → %i", async (_, origin, status) => {
      const response = await upgrade(freshRoom(), origin === undefined ? {} : { Origin: origin });
      expect(response.status).toBe(status);
      if (status === 101) {
        response.webSocket!.accept();
        response.webSocket!.close();
      } else {
        expect(await response.json()).toMatchObject({ error: "forbidden_origin" });
      }
    });
  });
});

describe("room pages", () => {
  it("sends a room name in another case to its canonical URL", async () => {
    const response = await get("/r/Lobby", { redirect: "manual" });
    expect(response.status).toBe(301);
    expect(response.headers.get("Location")).toBe("/r/lobby");
  });

  it("answers 400 for an invalid room name", async () => {
    const response = await get("/r/bad.name");
    expect(response.status).toBe(400);
    expect(response.headers.get("Content-Type")).toContain("application/json");
    expect(await response.json()).toEqual({ error: "bad_room", message: expect.stringContaining("Room names are") });
  });

  it("shows a browser the room page, with 400, for an invalid room name: it says so in words", async () => {
    const response = await get("/r/bad.name", { headers: { Accept: "text/html,application/xhtml+xml,*/*;q=0.8" } });
    expect(response.status).toBe(400);
    expect(response.headers.get("Content-Type")).toContain("text/html");
    expect(await response.text()).toContain('id="bad-room"');
  });

  it("serves the room page for a valid name", async () => {
    const response = await get("/r/lobby");
    expect(response.status).toBe(200);
    expect(response.headers.get("Content-Type")).toContain("text/html");
    expect(await response.text()).toContain("<html");
  });
});

describe("security headers", () => {
  it.each([
    ["GET /api/health", "/api/health", undefined],
    ["POST /api/rooms", "/api/rooms", { method: "POST" }],
    ["GET /api/rooms/:room", "/api/rooms/lobby", undefined],
    ["a 400", "/api/rooms/-bad", undefined],
    ["a 404", "/api/nowhere", undefined],
    ["a 426", "/api/rooms/lobby/websocket", undefined],
    ["a 403", "/api/rooms/lobby/websocket", { headers: { Upgrade: "websocket", Origin: "https://evil.example" } }],
    ["a 301", "/r/LOBBY", { redirect: "manual" as const }],
    ["a bad room page", "/r/bad.name", undefined],
  ])("are on %s", async (_, path, init) => {
    const response = await get(path, init);
    expect(response.status).not.toBe(101);
    expect(response.headers.get("X-Content-Type-Options")).toBe("nosniff");
    expect(response.headers.get("Content-Security-Policy")).toContain("frame-ancestors 'none'");
    expect(response.headers.get("Content-Security-Policy")).toContain("default-src 'none'");
    expect(response.headers.get("Referrer-Policy")).toBe("no-referrer");
    expect(response.headers.get("Permissions-Policy")).toContain("camera=()");
  });

  it("leave the pages' own policy in place", async () => {
    const response = await get("/r/lobby");
    expect(response.status).toBe(200);
    // The page's CSP comes from public/_headers (checked under wrangler dev in
    // test/e2e); the API's "default-src 'none'" must never reach a page.
    expect(response.headers.get("Content-Security-Policy") ?? "").not.toContain("default-src 'none'");
    expect(response.headers.get("X-Content-Type-Options")).toBe("nosniff");
    expect(await response.text()).toContain("<html");
  });
});

describe("anything else", () => {
  it("is a JSON 404 under /api", async () => {
    const response = await get("/api/nothing-here");
    expect(response.status).toBe(404);
    expect(await response.json()).toMatchObject({ error: "not_found" });
  });
});

describe("a bad configuration", () => {
  it("is refused with config_error, and what is wrong goes to the log, not to whoever asked", async () => {
    const response = await worker.fetch(
      new Request("http://chat.test/api/health"),
      { ...env, MAX_MESSAGE_LENGTH: "lots" },
      createExecutionContext(),
    );
    expect(response.status).toBe(500);
    const body = await response.json<{ error: string; message: string }>();
    expect(body.error).toBe("config_error");
    expect(body.message).not.toMatch(/MAX_MESSAGE_LENGTH|lots/);
  });
});
