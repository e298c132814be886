/**
 * The soak test (`npm run test:soak`): many people chatting for a while under
 * the real `wrangler dev`, and every message accounted for.
 *
 * By default 500 connections in 10 rooms for 60 s. Each person sends a
 * message every 10 s on average (a typing notice first), pings every 30 s
 * like the browser client, and one person a second somewhere leaves cleanly,
 * stays away 0.5–3 s and comes back with their session and `since`. The per-connection limits
 * stay on; the per-IP limits are off, since every client here has the same
 * address (127.0.0.1).
 *
 * It passes only with zero loss: every message is echoed to its sender,
 * reaches everyone who was in the room, once, in id order without a gap
 * (resumes included), and is stored exactly once; no error frames, no
 * unexpected closes, no internal errors in the server's log. It prints its
 * figures (BENCHMARKS.md keeps them). Knobs: SOAK_CONNECTIONS, SOAK_ROOMS,
 * SOAK_SECONDS, SOAK_INTERVAL_S. SOAK_DIRECT=1 runs the deployable bundle
 * without wrangler dev's proxy (scripts/direct-server.ts): the proxy relays
 * every frame through two more processes, which is most of what a flood
 * costs under `wrangler dev` (BENCHMARKS.md, "Soak with attackers").
 *
 * SOAK_ATTACKERS=1 adds hostile clients in every room, running every attack
 * of issue 13 at once for the whole soak (attackers.ts, in a thread of its
 * own): sockets that
 * never join and hold places (the rooms are sized to fill up), floods of
 * typing and signal frames from sockets that never joined, look-alike and
 * invisible nicknames of someone present, lookups of new rooms, a member
 * posting 3,990-emoji messages, a member sending nothing but refused
 * frames. The honest people must see no difference but latency: the same
 * zero problems. (Per-address limits cannot be tried here: every client
 * has the address 127.0.0.1, so they are off; the Workers tests cover them.)
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { parseServerMessage, type ServerFrame, type User, type WelcomeFrame } from "../../src/shared/protocol";
import { processGroupRssKib, startDevServer, type DevServer } from "../e2e/wrangler-dev";
import { runAttackers } from "./attackers";

const CONNECTIONS = Number(process.env.SOAK_CONNECTIONS ?? 500);
const ROOMS = Number(process.env.SOAK_ROOMS ?? 10);
const SECONDS = Number(process.env.SOAK_SECONDS ?? 60);
/** Mean time between two messages of one person. */
const INTERVAL_S = Number(process.env.SOAK_INTERVAL_S ?? 10);
const ATTACKERS = process.env.SOAK_ATTACKERS === "1";
const DIRECT = process.env.SOAK_DIRECT === "1";
const PING_MS = 30_000;
const CHURN_MS = 1_000;

/** Progress on stderr, so that a slow run shows where it is. */
const phase = (what: string) => process.stderr.write(`soak: ${what}\n`);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const percentile = (sorted: number[], p: number) =>
  sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;

/** Everything that went wrong, by kind; the test expects it empty. */
const problems = new Map<string, string[]>();
function problem(kind: string, detail: string): void {
  const list = problems.get(kind) ?? [];
  if (list.length < 5) list.push(detail); // examples, not a flood
  problems.set(kind, list);
  counts.problems++;
}

const counts = { sent: 0, echoed: 0, deliveries: 0, typing: 0, resumes: 0, resumedMessages: 0, problems: 0 };
const latencies: number[] = [];
const joinTimes: number[] = [];

/** One person: a socket at a time, and what they have seen of their room. */
class Person {
  ws: WebSocket | null = null;
  me: User | null = null;
  session: string | null = null;
  /** The last message id seen, in order; every new one must be exactly one more. */
  lastId = 0;
  /** Messages sent and not yet echoed: cid → send time. */
  readonly pending = new Map<string, number>();
  /** Every cid this person's echoes confirmed (checked against the stored history). */
  readonly confirmed: string[] = [];
  #sent = 0;
  #closingOnPurpose = false;
  #welcome: ((welcome: WelcomeFrame) => void) | null = null;

  constructor(
    readonly url: string,
    readonly nick: string,
    /** Never leaves during the soak (the impostors' target). */
    readonly anchor = false,
  ) {}

  /** Connects and joins (resuming when it has a session); resolves on welcome. */
  async connect(): Promise<void> {
    const started = performance.now();
    const ws = new WebSocket(this.url, { perMessageDeflate: false });
    this.ws = ws;
    this.#closingOnPurpose = false;
    ws.on("message", (data) => this.#receive(data.toString()));
    ws.on("close", (code) => {
      if (!this.#closingOnPurpose) problem("unexpected close", `${this.nick}: ${code}`);
    });
    ws.on("error", (error) => problem("socket error", `${this.nick}: ${error.message}`));
    await new Promise<void>((resolve, reject) => {
      ws.once("open", () => resolve());
      ws.once("error", reject);
    });
    const welcome = new Promise<WelcomeFrame>((resolve) => (this.#welcome = resolve));
    const join: Record<string, unknown> = { type: "join", nick: this.nick };
    if (this.session !== null) Object.assign(join, { session: this.session, since: this.lastId });
    ws.send(JSON.stringify(join));
    const frame = await Promise.race([welcome, sleep(30_000).then(() => null)]);
    if (frame === null) throw new Error(`${this.nick}: no welcome within 30 s`);
    joinTimes.push(performance.now() - started);
  }

  async leaveAndComeBack(): Promise<void> {
    this.#closingOnPurpose = true;
    const ws = this.ws!;
    const closed = new Promise((resolve) => ws.once("close", resolve));
    ws.close(1000, "brb");
    await closed;
    await sleep(500 + Math.random() * 2500); // away for a moment: the room goes on
    counts.resumes++;
    await this.connect();
  }

  send(): void {
    const cid = `${this.nick}-${++this.#sent}`;
    this.pending.set(cid, Date.now());
    this.ws!.send(JSON.stringify({ type: "message", text: `${Date.now()} ${cid}`, cid }));
    counts.sent++;
  }

  typing(): void {
    this.ws!.send('{"type":"typing"}');
  }

  ping(): void {
    this.ws!.send("ping");
  }

  close(): void {
    this.#closingOnPurpose = true;
    this.ws?.close(1000);
  }

  #receive(raw: string): void {
    if (raw === "pong") return;
    let frames: ServerFrame[];
    try {
      frames = parseServerMessage(raw);
    } catch {
      return problem("unparsable frame", raw.slice(0, 100));
    }
    for (const frame of frames) this.#frame(frame);
  }

  #frame(frame: ServerFrame): void {
    switch (frame.type) {
      case "welcome": {
        const resuming = this.session !== null;
        if (frame.truncated) problem("truncated resume", this.nick);
        for (const message of frame.history) {
          if (!resuming || message.type !== "message") continue; // a first join starts wherever the history starts
          this.#message(message.id, message.from.id, message.cid, message.text, false);
          counts.resumedMessages++;
        }
        if (!resuming) this.lastId = frame.history.at(-1)?.id ?? 0;
        this.me = frame.you;
        this.session = frame.session;
        this.#welcome?.(frame);
        return;
      }
      case "message":
        return this.#message(frame.id, frame.from.id, frame.cid, frame.text, true);
      case "typing":
        counts.typing++;
        return;
      case "error":
        return problem(`error frame ${frame.code}`, `${this.nick}: ${frame.message}`);
      default:
        return; // joined, left, renamed: presence, not checked here
    }
  }

  /** `live`: broadcast now, rather than caught up on by a resume (whose wait is the time away). */
  #message(id: number, from: string, cid: string | undefined, text: string, live: boolean): void {
    if (id !== this.lastId + 1)
      problem(id <= this.lastId ? "duplicate or reordered message" : "gap", `${this.nick}: ${this.lastId} → ${id}`);
    this.lastId = Math.max(this.lastId, id);
    counts.deliveries++;
    const sentAt = Number(text.slice(0, text.indexOf(" ")));
    if (live && Number.isFinite(sentAt)) latencies.push(Date.now() - sentAt); // an attacker's text has no time
    if (from === this.me?.id && cid !== undefined && this.pending.has(cid)) {
      this.pending.delete(cid);
      this.confirmed.push(cid);
      counts.echoed++;
    }
  }
}

let server: DevServer;

beforeAll(async () => {
  // With attackers, rooms just big enough for their people and ten more, so
  // that the squatters can fill them.
  const vars: Record<string, string> = { IP_RATE_LIMITS: "off" };
  if (ATTACKERS) vars.MAX_CONNECTIONS_PER_ROOM = String(Math.ceil(CONNECTIONS / ROOMS) + 10);
  server = await startDevServer({ vars, direct: DIRECT });
}, 90_000);

/** Every message a room still has, oldest first: the welcome's, then scroll-back pages until `complete`. */
async function storedHistory(url: string, nick: string): Promise<{ id: number; cid?: string }[]> {
  const ws = new WebSocket(url, { perMessageDeflate: false });
  await new Promise((resolve) => ws.once("open", resolve));
  const frames: ServerFrame[] = [];
  let wake = () => {};
  ws.on("message", (data) => {
    frames.push(...parseServerMessage(data.toString()));
    wake();
  });
  const next = async <T extends ServerFrame["type"]>(type: T): Promise<Extract<ServerFrame, { type: T }>> => {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const index = frames.findIndex((f) => f.type === type);
      if (index >= 0) return frames.splice(index, 1)[0] as Extract<ServerFrame, { type: T }>;
      if (Date.now() > deadline) throw new Error(`${nick}: no ${type} frame`);
      await new Promise<void>((resolve) => {
        wake = resolve;
        setTimeout(resolve, 100);
      });
    }
  };
  ws.send(JSON.stringify({ type: "join", nick }));
  const messages = (await next("welcome")).history;
  let complete = messages.length === 0 || messages[0]!.id === 1;
  for (let page = 0; page < 1000 && !complete; page++) {
    ws.send(JSON.stringify({ type: "history", before: messages[0]!.id }));
    const answer = await next("history");
    messages.unshift(...answer.messages);
    complete = answer.complete === true || answer.messages.length === 0;
  }
  ws.close(1000);
  return messages;
}

afterAll(async () => {
  await server?.stop();
});

describe("soak", () => {
  it(`${CONNECTIONS} connections in ${ROOMS} rooms for ${SECONDS} s${ATTACKERS ? ", with attackers in every room" : ""}: nothing lost, nothing twice, no errors`, async () => {
    const wsUrl = (room: string) => `${server.url.replace(/^http/, "ws")}/api/rooms/${room}/websocket`;
    const rooms = Array.from({ length: ROOMS }, (_, i) => `soak-${i}`);
    const people = Array.from(
      { length: CONNECTIONS },
      (_, i) => new Person(wsUrl(rooms[i % ROOMS]!), `p${i}`, i < ROOMS),
    );
    const rssBefore = processGroupRssKib(server.pid);

    // Everyone joins, 50 at a time.
    const joinStarted = performance.now();
    for (let i = 0; i < people.length; i += 50)
      await Promise.all(people.slice(i, i + 50).map((person) => person.connect()));
    const joinSeconds = (performance.now() - joinStarted) / 1000;
    phase(`everyone joined in ${joinSeconds.toFixed(1)} s`);
    const rssJoined = processGroupRssKib(server.pid);

    // The chat: each person on their own random schedule, for SECONDS.
    const started = Date.now();
    const end = started + SECONDS * 1000;
    const nextMessage = people.map(() => started + Math.random() * 2 * INTERVAL_S * 1000);
    const nextPing = people.map(() => started + Math.random() * PING_MS);
    let nextChurn = started + CHURN_MS;
    const churning = new Set<Person>();
    // The attackers run in a thread of their own, as they would on machines
    // of their own: their loops must not hold up the honest people's clocks.
    const attackers = ATTACKERS
      ? runAttackers({
          rooms: rooms.map(wsUrl),
          httpUrl: server.url,
          targets: people.slice(0, ROOMS).map((p) => p.nick),
          end,
        })
      : null;
    while (Date.now() < end) {
      const now = Date.now();
      people.forEach((person, i) => {
        if (churning.has(person)) return;
        if (now >= nextMessage[i]!) {
          person.send();
          // Exponential gaps: a Poisson stream of messages, mean INTERVAL_S.
          nextMessage[i] = now + -Math.log(1 - Math.random()) * INTERVAL_S * 1000;
        } else if (now >= nextMessage[i]! - 500 && now < nextMessage[i]! - 450) {
          person.typing();
        }
        if (now >= nextPing[i]!) {
          person.ping();
          nextPing[i] = now + PING_MS;
        }
      });
      if (now >= nextChurn) {
        nextChurn += CHURN_MS;
        // Someone with nothing in flight leaves and comes back (resume with since).
        const person = people[Math.floor(Math.random() * people.length)]!;
        if (!person.anchor && !churning.has(person) && person.pending.size === 0) {
          churning.add(person);
          void person.leaveAndComeBack().then(
            () => churning.delete(person),
            (error: Error) => problem("resume failed", `${person.nick}: ${error.message}`),
          );
        }
      }
      await sleep(50);
    }
    const chatSeconds = (Date.now() - started) / 1000;
    phase("chat over; waiting for the attackers to stop");
    const attacked = attackers === null ? null : await attackers;
    for (const [kind, details] of Object.entries(attacked?.problems ?? {}))
      for (const detail of details) problem(kind, detail);
    phase("attackers stopped");

    // Let the last echoes arrive (bounded).
    const drainDeadline = Date.now() + 15_000;
    while ((people.some((p) => p.pending.size > 0) || churning.size > 0) && Date.now() < drainDeadline)
      await sleep(100);
    await sleep(1000);
    const rssAfter = processGroupRssKib(server.pid);

    // Every person saw their room up to its last message.
    const lastIdOfRoom = new Map<string, number>();
    for (const person of people)
      lastIdOfRoom.set(person.url, Math.max(lastIdOfRoom.get(person.url) ?? 0, person.lastId));
    for (const person of people) {
      if (person.pending.size > 0) problem("never echoed", `${person.nick}: ${[...person.pending.keys()].join(", ")}`);
      if (person.lastId !== lastIdOfRoom.get(person.url))
        problem("fell behind", `${person.nick}: ${person.lastId} of ${lastIdOfRoom.get(person.url)}`);
    }
    phase("drained; reading every room's history back");
    // Every confirmed message is stored exactly once, ids 1..n without a gap.
    for (const room of rooms) {
      const stored = await storedHistory(wsUrl(room), `reader-${room}`);
      const ids = stored.map((m) => m.id);
      if (ids.some((id, i) => id !== i + 1)) problem("stored ids not gapless", room);
      const cids = new Map<string, number>();
      for (const m of stored) if (m.cid !== undefined) cids.set(m.cid, (cids.get(m.cid) ?? 0) + 1);
      for (const person of people.filter((p) => p.url === wsUrl(room))) {
        for (const cid of person.confirmed)
          if (cids.get(cid) !== 1) problem("not stored exactly once", `${cid}: ${cids.get(cid) ?? 0}`);
      }
    }
    for (const person of people) person.close();
    await sleep(500);

    const log = server.output();
    const internalErrors = log.split("\n").filter((line) => /"?internal_error"?|Uncaught|\[ERROR\]/.test(line));
    for (const line of internalErrors) problem("server error", line.slice(0, 200));

    latencies.sort((a, b) => a - b);
    joinTimes.sort((a, b) => a - b);
    const figures = {
      server: DIRECT ? "bundle without the dev proxy" : "wrangler dev",
      connections: CONNECTIONS,
      rooms: ROOMS,
      "chat seconds": Math.round(chatSeconds),
      "all joined in (s)": Number(joinSeconds.toFixed(1)),
      "join p50 / p99 (ms)": `${percentile(joinTimes, 50).toFixed(0)} / ${percentile(joinTimes, 99).toFixed(0)}`,
      "messages sent": counts.sent,
      "messages per second": Math.round(counts.sent / chatSeconds),
      "echoes received": counts.echoed,
      deliveries: counts.deliveries,
      "deliveries per second": Math.round(counts.deliveries / chatSeconds),
      "typing notices received": counts.typing,
      "leave-and-resume cycles": counts.resumes,
      "messages delivered by resume": counts.resumedMessages,
      "live delivery latency p50 / p99 / max (ms)": `${percentile(latencies, 50)} / ${percentile(latencies, 99)} / ${latencies.at(-1)}`,
      "server RSS before / joined / after (MiB)": [rssBefore, rssJoined, rssAfter]
        .map((kb) => (kb / 1024).toFixed(0))
        .join(" / "),
      problems: counts.problems,
      ...(attacked?.counts ?? {}),
    };
    console.log(
      `\nSoak results\n${Object.entries(figures)
        .map(([k, v]) => `  ${k.padEnd(42)} ${v}`)
        .join("\n")}\n`,
    );
    expect(Object.fromEntries(problems)).toEqual({});
    expect(counts.echoed).toBe(counts.sent);
    expect(counts.sent).toBeGreaterThan(0);
    if (attacked?.all)
      for (const [what, count] of Object.entries(attacked.counts)) expect(count, what).toBeGreaterThan(0);
  });
});
