/**
 * The attackers of the soak (`SOAK_ATTACKERS=1 npm run test:soak`): every
 * attack of docs/security.md's "Attacks a room survives", in every room, at
 * once, until the soak ends. They run in a worker thread of their own, as
 * they would on machines of their own, so that their loops (a flood is
 * thousands of sends in a row) never hold up the honest people's clocks in
 * the main thread. What the attackers must meet (cut off, refused) is
 * checked here and reported back; what the honest people must not notice
 * is checked by the soak.
 *
 * Knobs: SOAK_ATTACKS (a comma-separated subset of
 * squat,flood,impostor,lookup,bomber,garbage; all by default),
 * SOAK_FLOOD_FRAMES, SOAK_FLOOD_EVERY_S.
 */
import { Worker, isMainThread, parentPort, workerData } from "node:worker_threads";
import WebSocket from "ws";

const ALL_ATTACKS = ["squat", "flood", "impostor", "lookup", "bomber", "garbage"];
/** Which attacks run (SOAK_ATTACKS, comma-separated; all by default). */
const ATTACKS = new Set((process.env.SOAK_ATTACKS ?? ALL_ATTACKS.join(",")).split(","));
/** Frames in one flood from a socket that never joined (the attack of the issue: 3,000). */
const FLOOD_FRAMES = Number(process.env.SOAK_FLOOD_FRAMES ?? 3000);
/** Seconds between two floods in a room. Every frame of a flood costs the
 * runtime something even when the room drops it unread (it is cut off after
 * ~30, the rest are already on their way), so this sets the attack's weight. */
const FLOOD_EVERY_S = Number(process.env.SOAK_FLOOD_EVERY_S ?? 20);
const PING_MS = 30_000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** What the attack thread needs: the rooms' WebSocket URLs, the server, whom to impersonate in each room, when to stop. */
export interface AttackPlan {
  rooms: string[];
  httpUrl: string;
  targets: string[];
  end: number;
}

/** What the attack thread reports: counts, problems (by kind, a few examples each), and whether every attack ran. */
export interface AttackReport {
  counts: Record<string, number>;
  problems: Record<string, string[]>;
  all: boolean;
}

/** Starts the attackers in a worker thread; resolves with their report once they stop. */
export function runAttackers(plan: AttackPlan): Promise<AttackReport> {
  const worker = new Worker(new URL(import.meta.url), { workerData: plan });
  return new Promise((resolve, reject) => {
    worker.once("message", (report: AttackReport) => resolve(report));
    worker.once("error", reject);
    worker.once("exit", (code) => reject(new Error(`the attackers' thread exited with ${code} before reporting`)));
  });
}

const problems: Record<string, string[]> = {};
function problem(kind: string, detail: string): void {
  problems[kind] ??= [];
  if (problems[kind].length < 5) problems[kind].push(detail);
}

/** What the attackers did and what became of it. */
const attacks = {
  "squatter sockets opened": 0,
  "squatters closed by the room": 0,
  "unjoined floods cut off (1008)": 0,
  "flood frames sent": 0,
  "impostor joins refused": 0,
  "new rooms looked up": 0,
  "3,990-emoji messages posted": 0,
  "refused-frame members cut off (1008)": 0,
};

/** A raw socket to `url`, open, and the code it will be closed with (or null if not within `ms` of now). */
async function openSocket(url: string): Promise<{ ws: WebSocket; closed: (ms: number) => Promise<number | null> }> {
  const ws = new WebSocket(url, { perMessageDeflate: false });
  ws.on("error", () => {}); // the attackers' sockets are meant to be cut off
  const code = new Promise<number>((resolve) => ws.once("close", (c) => resolve(c)));
  await new Promise<void>((resolve, reject) => {
    ws.once("open", () => resolve());
    ws.once("error", reject);
  });
  const closed = (ms: number) => Promise.race([code, sleep(ms).then(() => null)]);
  return { ws, closed };
}

/**
 * Every attack of issue 13 at once, against `url`'s room, until `end`. Each
 * loop is bounded by the clock and stops by itself; what the honest people
 * must not notice is checked by the soak itself, what the attackers must
 * meet (cut off, refused) is checked here.
 */
async function attack(url: string, httpUrl: string, target: string, end: number, index: number): Promise<void> {
  const loops: Promise<void>[] = [];
  const until = (body: () => Promise<void>) =>
    loops.push(
      (async () => {
        while (Date.now() < end) await body().catch((error: Error) => problem("attacker failed", error.message));
      })(),
    );
  // 1. Squatters: ten sockets that never join, pinging, reopened as soon as the room closes one.
  for (let i = 0; i < (ATTACKS.has("squat") ? 10 : 0); i++) {
    until(async () => {
      const { ws, closed } = await openSocket(url);
      attacks["squatter sockets opened"]++;
      const ping = setInterval(() => ws.send("ping"), PING_MS);
      const code = await closed(Math.max(1, end - Date.now()));
      clearInterval(ping);
      if (code === null) ws.close();
      else attacks["squatters closed by the room"]++;
    });
  }
  // 2. Floods from a socket that never joins: 3,000 typing and signal frames as fast as they go.
  if (ATTACKS.has("flood"))
    until(async () => {
      const { ws, closed } = await openSocket(url);
      for (let i = 0; i < FLOOD_FRAMES && ws.readyState === WebSocket.OPEN; i++) {
        ws.send(i % 2 === 0 ? '{"type":"typing"}' : '{"type":"signal","to":"x","data":{}}');
        attacks["flood frames sent"]++;
      }
      const code = await closed(15_000);
      if (code === 1008) attacks["unjoined floods cut off (1008)"]++;
      else problem("unjoined flood not cut off", `close ${code}`);
      await sleep(Math.min(FLOOD_EVERY_S * 1000, Math.max(0, end - Date.now())));
    });
  // 3. Impostors of someone present: look-alikes are taken, invisible names invalid.
  if (ATTACKS.has("impostor"))
    until(async () => {
      const fakes = [
        `${target}\u3164`,
        `\u0440${target.slice(1)}`,
        target.toUpperCase(),
        `${target}\u2800`,
        `\u1d18${target.slice(1)}`,
      ];
      const { ws } = await openSocket(url);
      const answer = new Promise<{ type?: string; code?: string } | null>((resolve) => {
        ws.on("message", (data) => {
          const value: unknown = JSON.parse(data.toString());
          resolve((Array.isArray(value) ? value[0] : value) ?? null);
        });
        setTimeout(() => resolve(null), 10_000);
      });
      ws.send(JSON.stringify({ type: "join", nick: fakes[Math.floor(Math.random() * fakes.length)] }));
      const frame = await answer;
      if (frame?.type === "error" && (frame.code === "nick_taken" || frame.code === "nick_invalid"))
        attacks["impostor joins refused"]++;
      else problem("impostor not refused", JSON.stringify(frame).slice(0, 100));
      ws.close();
      await sleep(2000);
    });
  // 4. Lookups of rooms that do not exist, one a second.
  if (ATTACKS.has("lookup"))
    until(async () => {
      const answer = await fetch(`${httpUrl}/api/rooms/ghost-${index}-${Math.random().toString(36).slice(2)}`);
      if (answer.status !== 200) problem("lookup failed", String(answer.status));
      attacks["new rooms looked up"]++;
      await sleep(1000);
    });
  // 5. A member posting the longest messages there are, every 5 s.
  if (ATTACKS.has("bomber"))
    until(async () => {
      const { ws } = await openSocket(url);
      ws.send(JSON.stringify({ type: "join", nick: `bomber-${index}-${Math.random().toString(36).slice(2, 6)}` }));
      while (Date.now() < end && ws.readyState === WebSocket.OPEN) {
        await sleep(5000);
        ws.send(JSON.stringify({ type: "message", text: "😀".repeat(3990) }));
        attacks["3,990-emoji messages posted"]++;
      }
      ws.close();
    });
  // 6. A member who sends nothing but refused frames, and rejoins when cut off.
  if (ATTACKS.has("garbage"))
    until(async () => {
      const { ws, closed } = await openSocket(url);
      ws.send(JSON.stringify({ type: "join", nick: `garbage-${index}-${Math.random().toString(36).slice(2, 6)}` }));
      await sleep(200);
      for (let i = 0; i < 60 && ws.readyState === WebSocket.OPEN; i++) ws.send("{not json");
      const code = await closed(15_000);
      if (code === 1008) attacks["refused-frame members cut off (1008)"]++;
      else problem("refused-frame member not cut off", `close ${code}`);
      await sleep(5000);
    });
  await Promise.all(loops);
}

if (!isMainThread && parentPort !== null) {
  const plan = workerData as AttackPlan;
  await Promise.all(plan.rooms.map((url, i) => attack(url, plan.httpUrl, plan.targets[i]!, plan.end, i)));
  const report: AttackReport = { counts: attacks, problems, all: ALL_ATTACKS.every((name) => ATTACKS.has(name)) };
  parentPort.postMessage(report);
}
