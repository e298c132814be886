/**
 * The `worst-frames` scenario: a room filled to its retention limits
 * (HISTORY_RETENTION messages of MAX_MESSAGE_LENGTH characters, written to
 * be the costliest to search), then honest members chatting, first alone
 * (calm), then while attackers from several addresses send the costliest
 * frames a member may send, at the per-address limits. It reports the
 * honest members' delivery latency in both runs, what was lost, and what
 * each costly frame costs the room on its own (the median time to its
 * answer in the filled room, one at a time).
 *
 * The honest members' latency is pooled over rounds of calm, then
 * attacked, chat (each message reaches ten members at much the same time,
 * so a round alone holds few to rank).
 *
 * The room is filled with the rate limits off, then served again from the
 * same state with every limit at its default, as a deployment runs.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import WebSocket from "ws";
import { startDevServer } from "../scripts/dev-server.ts";
import { BenchClient, type BenchMessage } from "./client.ts";
import type { Figure, Target } from "./scenarios.ts";

const RETENTION = Number(process.env.WORST_RETENTION ?? 10_000);
const LENGTH = 4_000;
/** The letters words start with: every message lacks one of them, so that
 * searching for all of them walks every list and finds nothing. */
const LETTERS = "abcdefgh";
const HONEST_MEMBERS = 10;
const HONEST_SENDERS = 4;
/** Each honest sender's pace: under RATE_LIMIT_PER_SECOND (5). */
const HONEST_INTERVAL_MS = 250;
/** Rounds of calm, then attacked, chat, and how long each run lasts. */
const ROUNDS = 3;
const RUN_SECONDS = 15;
const ATTACK_ADDRESSES = ["203.0.113.1", "203.0.113.2", "203.0.113.3"];
/** Sockets per attacking address (of MAX_CONNECTIONS_PER_ADDRESS, 32). */
const ATTACK_SOCKETS = 8;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

let seed = 7;
/** A deterministic pseudo-random number in [0, 1): every run fills the same room. */
const random = () => {
  seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
  return seed / 2_147_483_648;
};

/** A text of about `length` characters of short words starting with every
 * letter of LETTERS but `missing`, mostly different from each other. */
function costlyText(length: number, missing: string): string {
  const letters = [...LETTERS].filter((letter) => letter !== missing);
  const words: string[] = [];
  let size = 0;
  while (size < length - 10) {
    const word = letters[words.length % letters.length]! + Math.floor(random() * 46_656).toString(36);
    words.push(word);
    size += word.length + 1;
  }
  return words.join(" ");
}

/** A raw socket that joins and hands every frame to `on`. */
function connect(
  url: string,
  address: string,
  join: Record<string, unknown>,
  on: (frame: { type: string; [key: string]: unknown }, ws: WebSocket) => void,
): WebSocket {
  const ws = new WebSocket(url, { perMessageDeflate: false, headers: { "CF-Connecting-IP": address } });
  ws.on("open", () => ws.send(JSON.stringify({ type: "join", ...join })));
  ws.on("error", () => {});
  let me = "";
  ws.on("message", (data) => {
    const raw = data.toString();
    // The load generator shares the machine: it reads only what is for this
    // socket (its welcome, answers, errors, its own entries), not everyone's.
    if (raw === "pong" || (!ANSWERS.test(raw) && (me === "" || !raw.includes(me)))) return;
    const value = JSON.parse(raw) as { type: string } | { type: string }[];
    for (const frame of Array.isArray(value) ? value : [value]) {
      if (frame.type === "welcome") me = (frame as { you?: { id: string } }).you?.id ?? "";
      on(frame, ws);
    }
  });
  return ws;
}

/** What a socket is answered alone (everything else is everyone's). */
const ANSWERS = /"type":"(welcome|error|results|history|reactions)"/;

/** Fills `room` to retention with the limits off: one client, 32 messages in flight. */
async function fill(url: string): Promise<void> {
  const { client } = await BenchClient.join(url, "filler");
  let sent = 0;
  let stored = 0;
  const next = () => {
    if (sent >= RETENTION) return;
    sent++;
    const text = costlyText(LENGTH, LETTERS[sent % LETTERS.length]!);
    // Every 20th answers an earlier one: its quote is read with it.
    const reply = sent % 20 === 0 ? `,"replyTo":${1 + Math.floor(random() * (sent - 1))}` : "";
    client.ws.send(`{"type":"message","text":"${text}","cid":"f${sent}"${reply}}`);
  };
  const done = new Promise<void>((resolve) => {
    client.onMessage = (_client, message) => {
      if (message.from.id !== client.me!.id) return;
      stored++;
      if (stored === RETENTION) resolve();
      else next();
    };
  });
  for (let i = 0; i < 32; i++) next();
  await done;
  await client.close();
}

/** Honest members, each from an address of its own; `chat` has
 * HONEST_SENDERS of them send a message every HONEST_INTERVAL_MS. */
async function members(url: string) {
  const joined = await Promise.all(
    Array.from({ length: HONEST_MEMBERS }, (_, i) =>
      BenchClient.join(url, `member ${i}`, { "CF-Connecting-IP": `10.0.0.${i + 1}` }),
    ),
  );
  const clients = joined.map(({ client }) => client);
  let counter = 0;
  /** `seconds` of chat: the latency of every message at every member, and what never arrived. */
  const chat = async (seconds: number) => {
    const latencies: number[] = [];
    const received = clients.map(() => 0);
    clients.forEach((client, m) => {
      client.onMessage = (_client, message: BenchMessage, at) => {
        if (!message.cid?.startsWith("h")) return; // the attackers' messages are theirs
        received[m]!++;
        latencies.push(at - Number(message.text));
      };
    });
    let sent = 0;
    const started = performance.now();
    const timers = clients.slice(0, HONEST_SENDERS).map((client) =>
      setInterval(() => {
        if (performance.now() - started > seconds * 1000) return;
        sent++;
        client.send(`h${++counter}`);
      }, HONEST_INTERVAL_MS),
    );
    await sleep(seconds * 1000 + 100);
    for (const timer of timers) clearInterval(timer);
    // Everything sent arrives: wait for it (at most 20 s).
    const deadline = performance.now() + 20_000;
    while (received.some((count) => count < sent) && performance.now() < deadline) await sleep(50);
    const loss = received.reduce((sum, count) => sum + Math.max(0, sent - count), 0);
    return { latencies, loss, sent };
  };
  const refused = () => clients.reduce((sum, client) => sum + client.errors.length, 0);
  const close = () => Promise.all(clients.map((client) => client.close()));
  return { chat, refused, close };
}

/** The attack's kinds of frames, by frame type (WORST_FRAMES picks some,
 * to see what each costs: e.g. WORST_FRAMES=search,rejoin). */
const KIND: Record<string, string> = {
  search: "search",
  history: "history",
  edit: "edit",
  delete: "delete",
  message: "message",
  reactions: "reactions",
  react: "react",
};

/** What the attackers did: frames sent, answers by type, refusals by code. */
interface AttackLog {
  sent: Map<string, number>;
  answers: Map<string, number>;
  refusals: Map<string, number>;
  connections: number;
}
const count = (map: Map<string, number>, key: string) => map.set(key, (map.get(key) ?? 0) + 1);

/**
 * Attackers: from each address, ATTACK_SOCKETS members, each sending the
 * costliest frames in turn at its own rate limit (5 a second), and one
 * that rejoins from the start of the log (`since: 0`) as fast as the
 * address's upgrades allow. A socket the room closes (too many refusals)
 * connects again.
 */
function attack(url: string, log: AttackLog): () => void {
  let stopped = false;
  const kinds = (process.env.WORST_FRAMES ?? "search,history,edit,delete,message,reactions,react,rejoin").split(",");
  const sockets = new Set<WebSocket>();
  const costly = (own: number[], step: number): object[] => {
    const text = costlyText(LENGTH, LETTERS[step % LETTERS.length]!);
    switch (step % 7) {
      case 0:
        return [{ type: "search", query: [...LETTERS].join(" ") }];
      case 1:
        return [{ type: "history", before: 1 + Math.floor(random() * RETENTION * 1.1) }];
      case 2:
        return own.length > 0 ? [{ type: "edit", id: own[own.length - 1], text }] : [{ type: "message", text }];
      case 3:
        return own.length > 0 ? [{ type: "delete", id: own.shift() }] : [{ type: "message", text }];
      case 4:
        return [{ type: "message", text: `${"@member ".repeat(64)}${text}`.slice(0, LENGTH) }];
      case 5:
        return [{ type: "reactions", id: own[0] ?? RETENTION, emoji: "👍", offset: 0 }];
      default:
        return [{ type: "react", id: own[0] ?? RETENTION, emoji: "👍", on: step % 2 === 0 }];
    }
  };
  const member = (address: string, n: number) => {
    if (stopped) return;
    log.connections++;
    const own: number[] = [];
    let step = n;
    let timer: ReturnType<typeof setInterval> | undefined;
    let me = "";
    const ws = connect(url, address, { nick: `x${address.slice(-1)}-${n}-${log.connections}` }, (frame) => {
      if (frame.type === "welcome") {
        me = (frame.you as { id: string }).id;
        timer = setInterval(() => {
          for (const out of costly(own, step++)) {
            if (!kinds.includes(KIND[(out as { type: string }).type] ?? "")) continue;
            count(log.sent, (out as { type: string }).type);
            ws.send(JSON.stringify(out));
          }
        }, 200);
      } else if (frame.type === "error") count(log.refusals, String(frame.code));
      else if (frame.type === "message" && (frame.from as { id: string }).id === me) own.push(frame.id as number);
      // Answers to this socket's own frames (everyone gets the entries of the log).
      const by = (frame.by ?? frame.user) as { id: string } | undefined;
      if (["results", "history", "reactions"].includes(frame.type) || by?.id === me) count(log.answers, frame.type);
    });
    sockets.add(ws);
    ws.on("close", () => {
      clearInterval(timer);
      sockets.delete(ws);
      if (!stopped) setTimeout(() => member(address, n), 1000);
    });
  };
  const rejoiner = (address: string) => {
    if (stopped) return;
    log.connections++;
    const ws = connect(url, address, { nick: `r${address.slice(-1)}-${log.connections}`, since: 0 }, (frame, ws) => {
      if (frame.type === "welcome") count(log.answers, "welcome since 0");
      if (frame.type === "welcome" || frame.type === "error") ws.close();
    });
    sockets.add(ws);
    ws.on("close", () => {
      sockets.delete(ws);
      if (!stopped) setTimeout(() => rejoiner(address), 500);
    });
  };
  for (const address of ATTACK_ADDRESSES) {
    for (let n = 0; n < ATTACK_SOCKETS; n++) member(address, n);
    if (kinds.includes("rejoin")) rejoiner(address);
  }
  return () => {
    stopped = true;
    for (const ws of sockets) ws.terminate();
  };
}

/** The costly frames, each made for its probe, and the answer that ends it. */
const PROBES: [string, (i: number, own: number) => object, string][] = [
  // The floor: a frame the room answers to the sender alone, doing nothing.
  ["rename to one's own name (the floor)", () => ({ type: "nick", nick: "probe" }), "renamed"],
  ["message, 4,000 characters", (i) => ({ type: "message", text: costlyText(LENGTH, LETTERS[i % 8]!) }), "message"],
  [
    "edit of such a message",
    (i, own) => ({ type: "edit", id: own, text: costlyText(LENGTH, LETTERS[i % 8]!) }),
    "edited",
  ],
  ["edit of a short message", (i, own) => ({ type: "edit", id: own, text: `short edit ${i}` }), "edited"],
  ["search for 8 one-letter words", () => ({ type: "search", query: [...LETTERS].join(" ") }), "results"],
  ["history page", (i) => ({ type: "history", before: RETENTION - i * 100 }), "history"],
  ["who reacted", (_i, own) => ({ type: "reactions", id: own, emoji: "👍" }), "reactions"],
];

/** What one frame costs the room's thread, in ms: 60 of them sent at once
 * from members of the filled room, the time from the first going out to
 * the last answer, shared out. `make` is handed the id of a message of the
 * first member's own (sent first). Reads wait their turn two at most per
 * asker (read-queue.ts), so they come from 30 members, two each. */
async function costOf(url: string, make: (i: number, own: number) => object, answer: string): Promise<number> {
  const read = ["results", "history", "reactions"].includes(answer);
  const [sockets, each] = read ? [30, 2] : [1, 60];
  const clients = await Promise.all(
    Array.from({ length: sockets }, async (_, i) => (await BenchClient.join(url, `probe ${i}`)).client),
  );
  /** Resolves once `count` frames of `type` (or errors) have come to `client`. */
  const answers = (client: BenchClient, type: string, count: number) =>
    new Promise<{ id?: number }>((resolve) => {
      let seen = 0;
      const listener = (data: WebSocket.RawData) => {
        const value = JSON.parse(data.toString()) as { type: string; id?: number } | { type: string; id?: number }[];
        for (const frame of Array.isArray(value) ? value : [value]) {
          if (frame.type !== type && frame.type !== "error") continue;
          if (++seen < count) continue;
          client.ws.off("message", listener);
          resolve(frame);
          return;
        }
      };
      client.ws.on("message", listener);
    });
  const first = clients[0]!;
  const mine = answers(first, "message", 1);
  first.ws.send(JSON.stringify({ type: "message", text: "mine" }));
  const own = (await mine).id ?? 1;
  await sleep(200);
  const done = Promise.all(clients.map((client) => answers(client, answer, each)));
  const started = performance.now();
  let i = 0;
  for (let k = 0; k < each; k++) for (const client of clients) client.ws.send(JSON.stringify(make(i++, own)));
  await done;
  const ms = (performance.now() - started) / (sockets * each);
  await Promise.all(clients.map((client) => client.close()));
  return Math.round(ms * 100) / 100;
}

/** What joining costs the room, in ms: `times` sockets join at once. */
async function joinCost(url: string, since: number | undefined, times = 30): Promise<number> {
  const clients = await Promise.all(Array.from({ length: times }, () => BenchClient.open(url)));
  const welcomed = clients.map(
    (client) =>
      new Promise<void>((resolve) =>
        client.ws.on("message", (data) => {
          if (data.toString().includes('"type":"welcome"')) resolve();
        }),
      ),
  );
  const started = performance.now();
  for (const [i, client] of clients.entries())
    client.ws.send(
      JSON.stringify(since === undefined ? { type: "join", nick: `j${i}` } : { type: "join", nick: `j${i}`, since }),
    );
  await Promise.all(welcomed);
  const ms = (performance.now() - started) / times;
  await Promise.all(clients.map((client) => client.close()));
  return Math.round(ms * 100) / 100;
}

export async function worstFrames(target: Target): Promise<Figure[]> {
  const stateDir = mkdtempSync(join(tmpdir(), "edge-chat-worst-"));
  const room = `worst-${Date.now().toString(36)}`;
  const path = `/api/rooms/${room}/websocket`;
  try {
    // Limits off, and the room's budgets too, to fill the room and then
    // measure what each costly frame costs it, frames sent back to back.
    const filling = await startDevServer({
      stateDir,
      vars: {
        RATE_LIMIT_BURST: "0",
        FRAME_RATE_BURST: "0",
        IP_RATE_LIMITS: "off",
        ROOM_READS_BURST: "1000000",
        ROOM_EDITS_BURST: "1000000",
      },
      direct: target.direct === true,
    });
    const fillStarted = performance.now();
    const costs: Figure[] = [];
    try {
      const url = `${filling.url.replace(/^http/, "ws")}${path}`;
      await fill(url);
      for (const [name, make, answer] of PROBES) {
        process.stderr.write(`  (measuring: ${name})\n`);
        costs.push({ name: `cost: ${name}`, unit: "ms", value: await costOf(url, make, answer), better: null });
      }
      for (const [name, since] of [
        ["join, 100 messages", undefined],
        ["join since 0, the log", 0],
      ] as const)
        costs.push({ name: `cost: ${name}`, unit: "ms", value: await joinCost(url, since), better: null });
    } finally {
      await filling.stop();
    }
    const fillSeconds = (performance.now() - fillStarted) / 1000; // and the probes
    // The same room, every limit at its default.
    const server = await startDevServer({ stateDir, direct: target.direct === true });
    try {
      const url = `${server.url.replace(/^http/, "ws")}${path}`;
      // Rounds of calm, then attacked, chat: each ratio from neighbouring runs.
      const honest = await members(url);
      await sleep(500);
      const log: AttackLog = { sent: new Map(), answers: new Map(), refusals: new Map(), connections: 0 };
      const rounds: {
        calm: Awaited<ReturnType<typeof honest.chat>>;
        attacked: Awaited<ReturnType<typeof honest.chat>>;
      }[] = [];
      for (let round = 0; round < ROUNDS; round++) {
        const calm = await honest.chat(RUN_SECONDS);
        const stop = attack(url, log);
        await sleep(2000); // the attack under way
        const attacked = await honest.chat(RUN_SECONDS);
        stop();
        await sleep(3000);
        rounds.push({ calm, attacked });
      }
      const refused = honest.refused();
      await honest.close();
      const sum = (map: Map<string, number>) => [...map.values()].reduce((a, b) => a + b, 0);
      // Every round's deliveries together: each message reaches ten members
      // at much the same time, so a round alone holds few to rank.
      const pooled = (run: "calm" | "attacked") => rounds.flatMap((round) => round[run].latencies);
      const of = (run: "calm" | "attacked", q: number) => Math.round(percentile(pooled(run), q) * 10) / 10;
      return [
        { name: "room filled", unit: "s", value: Math.round(fillSeconds), better: null },
        { name: "calm: latency p50", unit: "ms", value: of("calm", 50), better: "lower" },
        { name: "calm: latency p99", unit: "ms", value: of("calm", 99), better: "lower" },
        { name: "attacked: latency p50", unit: "ms", value: of("attacked", 50), better: "lower" },
        { name: "attacked: latency p99", unit: "ms", value: of("attacked", 99), better: "lower" },
        {
          name: "p99 attacked ÷ calm",
          unit: "×",
          value: Math.round((percentile(pooled("attacked"), 99) / percentile(pooled("calm"), 99)) * 100) / 100,
          better: "lower",
        },
        {
          name: "honest messages sent",
          unit: "msgs",
          value: rounds.reduce((sum, r) => sum + r.calm.sent + r.attacked.sent, 0),
          better: null,
        },
        {
          name: "loss",
          unit: "msgs",
          value: rounds.reduce((sum, r) => sum + r.calm.loss + r.attacked.loss, 0),
          better: null,
        },
        { name: "honest refusals", unit: "", value: refused, better: null },
        { name: "attack frames sent", unit: "", value: sum(log.sent), better: null },
        { name: "attack frames answered", unit: "", value: sum(log.answers), better: null },
        { name: "attack frames refused", unit: "", value: sum(log.refusals), better: null },
        { name: "attack connections", unit: "", value: log.connections, better: null },
        ...[...log.answers].map(([type, n]) => ({
          name: `attack answered: ${type}`,
          unit: "",
          value: n,
          better: null,
        })),
        ...[...log.refusals].map(([code, n]) => ({
          name: `attack refused: ${code}`,
          unit: "",
          value: n,
          better: null,
        })),
        ...costs,
      ];
    } finally {
      await server.stop();
    }
  } finally {
    rmSync(stateDir, { recursive: true, force: true });
  }
}
