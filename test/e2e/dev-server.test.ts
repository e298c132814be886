/**
 * The app under the real `wrangler dev`, from the outside: the pages through
 * the static-assets layer, two WebSocket clients speaking protocol v1 as
 * docs/protocol.md shows it, and history that survives a restart.
 */
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import NodeWebSocket from "ws";
import { windowEnd } from "../../src/worker/ip-rate-limit";
import { newStateDir, openRoom, startDevServer, type DevServer } from "./wrangler-dev";

let server: DevServer;
const stateDir = newStateDir();

beforeAll(async () => {
  server = await startDevServer({ stateDir });
}, 90_000);

afterAll(async () => {
  await server?.stop();
});

describe("wrangler dev", () => {
  it("serves the landing page and room pages through the assets layer", async () => {
    const home = await fetch(`${server.url}/`);
    expect(home.status).toBe(200);
    expect(home.headers.get("content-type")).toContain("text/html");
    const room = await fetch(`${server.url}/r/lobby`);
    expect(room.status).toBe(200);
    expect(await room.text()).toContain("<html");
    expect((await fetch(`${server.url}/r/Lobby`, { redirect: "manual" })).headers.get("location")).toBe("/r/lobby");
    // The pages' script, built by wrangler's [build] step, and their headers.
    const script = await fetch(`${server.url}/js/room.js`);
    expect(script.status).toBe(200);
    expect(script.headers.get("content-type")).toContain("javascript");
    for (const page of [home, room]) {
      expect(page.headers.get("content-security-policy")).toContain("script-src 'self'");
      expect(page.headers.get("x-content-type-options")).toBe("nosniff");
    }
  });

  it("lets two clients chat, and keeps the history across a restart", async () => {
    const alice = await openRoom(server, "lobby");
    alice.send({ type: "join", nick: "Kartik" });
    const aliceWelcome = await alice.expect("welcome");
    const bob = await openRoom(server, "lobby");
    bob.send({ type: "join", nick: "Ana" });
    await bob.expect("welcome");
    expect(await alice.expect("joined")).toMatchObject({ user: { nick: "Ana" } });

    alice.send({ type: "message", text: "hello", cid: "abc" });
    const atBob = await bob.expect("message");
    expect(atBob).toMatchObject({ id: 1, from: aliceWelcome.you, text: "hello", cid: "abc" });
    expect(await alice.expect("message")).toEqual(atBob);
    bob.send({ type: "typing" });
    expect(await alice.expect("typing")).toMatchObject({ user: { nick: "Ana" } });
    bob.send("ping");
    await bob.expectSilence(300);
    expect(bob.raw.at(-1)).toBe("pong");

    bob.close(1000, "bye");
    expect((await bob.closeEvent()).code).toBe(1000);
    expect(await alice.expect("left")).toMatchObject({ user: { nick: "Ana" } });
    alice.close();
    await alice.closeEvent();

    // A restart on the same state directory: the history is still there.
    await server.stop();
    server = await startDevServer({ stateDir });
    const carol = await openRoom(server, "lobby");
    carol.send({ type: "join", nick: "Carol", since: 0 });
    const welcome = await carol.expect("welcome");
    expect(welcome.history).toEqual([atBob]);
    carol.send({ type: "message", text: "still here" });
    expect((await carol.expect("message")).id).toBe(2);
    carol.close();
  }, 90_000);

  it("limits room creation per client address, which wrangler dev reports like Cloudflare; IP_RATE_LIMITS=off lifts it", async () => {
    // Start well inside a one-minute window, so the count does not reset mid-test.
    if (windowEnd(Date.now()) - Date.now() < 5000)
      await new Promise((resolve) => setTimeout(resolve, windowEnd(Date.now()) - Date.now() + 50));
    const create = (url: string) => fetch(`${url}/api/rooms`, { method: "POST" }).then((response) => response.status);
    const statuses = [];
    for (let i = 0; i < 21; i++) statuses.push(await create(server.url));
    expect(statuses).toEqual([...Array(20).fill(201), 429]); // ROOM_CREATE_RATE_LIMIT: 20 a minute

    const unlimited = await startDevServer({ vars: { IP_RATE_LIMITS: "off" } });
    try {
      const more = [];
      for (let i = 0; i < 25; i++) more.push(await create(unlimited.url));
      expect(more).toEqual(Array(25).fill(201));
    } finally {
      await unlimited.stop();
    }
  }, 90_000);

  it("counts the addresses of one IPv6 /64 as one: 32 sockets in a room, 120 upgrades a minute", async () => {
    if (windowEnd(Date.now()) - Date.now() < 10_000)
      await new Promise((resolve) => setTimeout(resolve, windowEnd(Date.now()) - Date.now() + 50));
    const wsUrl = (room: string) => `${server.url.replace(/^http/, "ws")}/api/rooms/${room}/websocket`;
    /** Connects from `ip` and joins as `nick`: "joined", the error code, or the HTTP status. */
    const connect = (room: string, ip: string, nick: string, sockets: NodeWebSocket[]) =>
      new Promise<string>((resolve) => {
        const ws = new NodeWebSocket(wsUrl(room), { headers: { "CF-Connecting-IP": ip } });
        sockets.push(ws);
        ws.on("error", () => {});
        ws.on("unexpected-response", (_request, response) => resolve(`HTTP ${response.statusCode}`));
        ws.on("message", (data) => {
          const frame = JSON.parse(data.toString()) as { type: string; code?: string };
          resolve(frame.type === "error" ? frame.code! : frame.type === "welcome" ? "joined" : "other");
        });
        ws.on("open", () => ws.send(JSON.stringify({ type: "join", nick })));
      });
    const sockets: NodeWebSocket[] = [];
    try {
      const answers: string[] = [];
      // 130 addresses of one /64: 40 into one room, then 90 more across others.
      for (let i = 1; i <= 130; i++) {
        const room = i <= 40 ? "v6-one" : `v6-${Math.floor(i / 30)}`;
        answers.push(await connect(room, `2001:db8:64:1::${i.toString(16)}`, `n${i}`, sockets));
      }
      const count = (what: string) => answers.filter((a) => a === what).length;
      expect(answers.slice(0, 40).filter((a) => a === "joined")).toHaveLength(32); // MAX_CONNECTIONS_PER_ADDRESS
      expect(answers.slice(32, 40)).toEqual(Array(8).fill("too_many_connections"));
      expect(count("HTTP 429")).toBe(10); // UPGRADE_RATE_LIMIT: 120 a minute for the whole /64
      expect(answers.slice(120)).toEqual(Array(10).fill("HTTP 429"));
    } finally {
      for (const ws of sockets) ws.terminate();
    }
  }, 90_000);

  it("keeps nothing of the app's for rooms that are only looked up", async () => {
    // Looking a room up asks the room how many people it holds, which starts
    // its object; the room counts its sockets and never opens its database.
    // Miniflare itself records each started object's name in a database of
    // its own (the table __miniflare_do_name, a local emulation's): nothing
    // else may be there. Miniflare keeps other stores beside the rooms'
    // (traces, the rate limiter's), so only new room databases are read.
    const roomsDir = join(stateDir, "v3", "do", "edge-chat-Room");
    const databases = (): Set<string> =>
      new Set(existsSync(roomsDir) ? readdirSync(roomsDir).filter((name) => /^[0-9a-f]{64}\.sqlite$/.test(name)) : []);
    const before = databases();
    for (let i = 0; i < 20; i++) {
      const room = `looked-up-${Date.now().toString(36)}-${i}`;
      expect(await (await fetch(`${server.url}/api/rooms/${room}`)).json()).toEqual({
        room,
        url: `/r/${room}`,
        online: 0,
      });
    }
    const added = [...databases()].filter((name) => !before.has(name));
    for (const name of added) {
      const database = new DatabaseSync(join(roomsDir, name), { readOnly: true });
      try {
        const tables = database.prepare("SELECT name FROM sqlite_master").all();
        expect(tables, name).toEqual([{ name: "__miniflare_do_name" }]);
      } finally {
        database.close();
      }
    }
  });

  it("reads bytes that are not UTF-8 in a text frame as U+FFFD, and refuses binary frames", async () => {
    // Node's own WebSocket cannot send broken UTF-8; ws can.
    const ws = new NodeWebSocket(`${server.url.replace(/^http/, "ws")}/api/rooms/bytes/websocket`);
    const frames: string[] = [];
    ws.on("message", (data) => frames.push(data.toString()));
    const closed = new Promise<number>((resolve) => ws.on("close", (code) => resolve(code)));
    await new Promise((resolve) => ws.once("open", resolve));
    const frame = async () => {
      for (let i = 0; i < 100 && frames.length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 20));
      return JSON.parse(frames.shift() ?? "null") as Record<string, unknown> | null;
    };
    ws.send(JSON.stringify({ type: "join", nick: "Bytes" }));
    expect(await frame()).toMatchObject({ type: "welcome" });
    const text = Buffer.concat([
      Buffer.from('{"type":"message","text":"a'),
      Buffer.from([0xff, 0xc0, 0xaf]),
      Buffer.from('b"}'),
    ]);
    ws.send(text, { binary: false });
    expect(await frame()).toMatchObject({ type: "message", text: "a\ufffd\ufffd\ufffdb" });
    ws.send(Buffer.from('{"type":"message","text":"binary"}'), { binary: true });
    expect(await frame()).toMatchObject({ type: "error", code: "bad_frame" });
    ws.send(JSON.stringify({ type: "message", text: "still open" }));
    expect(await frame()).toMatchObject({ type: "message", text: "still open" });
    ws.close(1000);
    expect(await closed).toBe(1000);
  });
});

describe("the benchmark's server without the dev proxy (scripts/direct-server.ts)", () => {
  it("serves the same app from the deployable bundle, and keeps its state where wrangler dev does", async () => {
    const sharedState = newStateDir();
    const direct = await startDevServer({ stateDir: sharedState, direct: true });
    try {
      // The pages, the Worker's routes and wrangler.toml's variables are all there.
      expect((await fetch(`${direct.url}/r/bench`)).status).toBe(200);
      expect(await (await fetch(`${direct.url}/api/rooms/bench`)).json()).toEqual({
        room: "bench",
        url: "/r/bench",
        online: 0,
      });
      const ana = await openRoom(direct, "bench");
      ana.send({ type: "join", nick: "Ana" });
      expect((await ana.expect("welcome")).limits.messageLength).toBe(4000);
      ana.send({ type: "message", text: "measured", cid: "m1" });
      expect(await ana.expect("message")).toMatchObject({ id: 1, text: "measured" });
      ana.close();
      await ana.closeEvent();
    } finally {
      await direct.stop();
    }
    // wrangler dev on the same directory finds the room's history.
    const dev = await startDevServer({ stateDir: sharedState });
    try {
      const ben = await openRoom(dev, "bench");
      ben.send({ type: "join", nick: "Ben", since: 0 });
      expect((await ben.expect("welcome")).history).toMatchObject([{ id: 1, text: "measured", cid: "m1" }]);
      ben.close();
    } finally {
      await dev.stop();
    }
  }, 180_000);
});
