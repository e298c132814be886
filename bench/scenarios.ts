/**
 * The benchmark's scenarios. Their names are fixed so that results can be
 * compared over time (BENCHMARKS.md); each runs the same way against the app
 * under `wrangler dev` and against the bare baseline server.
 *
 * Every message's text is its send time, so latency is measured end to end
 * at every receiver; every scenario also counts what did not arrive (loss)
 * and what arrived twice, which must both be zero.
 */
import { readFileSync } from "node:fs";
import { processGroupCpu, processGroupRssKib } from "../scripts/dev-server.ts";
import { BenchClient, type BenchMessage } from "./client.ts";
import { worstFrames } from "./worst-frames.ts";

export interface Target {
  name: string;
  /** http://127.0.0.1:port */
  url: string;
  /** The server's process group, for its memory. */
  pgid: number;
  /** Served without wrangler dev's proxy (scripts/direct-server.ts). */
  direct?: boolean;
}

export interface Figure {
  name: string;
  unit: string;
  value: number;
  /** Which way is better, for the ratio column; null: informational. */
  better: "higher" | "lower" | null;
}

export interface Scenario {
  name: string;
  description: string;
  /** Whether it shares files, which the reference room does not do. */
  files?: boolean;
  /** Whether it runs against edge-chat alone (on servers of its own). */
  alone?: boolean;
  run(target: Target): Promise<Figure[]>;
}

/**
 * wrangler dev's proxy process holds about 4.3 open files per WebSocket (and
 * workerd 2 more in its own process), so the open-files limit caps how many
 * connections a local benchmark can hold: 5,000 needs a limit of about
 * 22,000. Where the limit is lower, idle-5000 holds what fits (in steps of 50).
 */
function openFilesLimit(): number {
  const line = /Max open files\s+(\d+|unlimited)/.exec(readFileSync("/proc/self/limits", "utf8"))?.[1];
  return line === undefined || line === "unlimited" ? Infinity : Number(line);
}
export const OPEN_FILES_LIMIT = openFilesLimit();
export const IDLE_CONNECTIONS = Math.min(5000, Math.floor((OPEN_FILES_LIMIT - 1000) / 4.4 / 50) * 50);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const mib = (kib: number) => Math.round(kib / 102.4) / 10;

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

let roomCounter = 0;
const roomNames = (scenario: string, target: Target, count: number) =>
  Array.from(
    { length: count },
    (_, i) => `${scenario}-${target.name}-${Date.now().toString(36)}-${roomCounter++}-${i}`,
  );
const wsUrl = (target: Target, room: string) => `${target.url.replace(/^http/, "ws")}/api/rooms/${room}/websocket`;

/** Joins `perRoom` clients to each room, `batch` at a time; returns them by room and their join times. */
async function joinRooms(target: Target, rooms: string[], perRoom: number, batch = 50) {
  const groups: BenchClient[][] = rooms.map(() => []);
  const joinMs: number[] = [];
  const all = rooms.flatMap((room, r) => Array.from({ length: perRoom }, (_, i) => ({ room, r, nick: `p${r}-${i}` })));
  for (let i = 0; i < all.length; i += batch) {
    const joined = await Promise.all(
      all.slice(i, i + batch).map(({ room, nick }) => BenchClient.join(wsUrl(target, room), nick)),
    );
    joined.forEach(({ client, ms }, k) => {
      groups[all[i + k]!.r]!.push(client);
      joinMs.push(ms);
    });
  }
  return { groups, joinMs };
}

async function closeAll(groups: BenchClient[][]): Promise<void> {
  await Promise.all(groups.flat().map((client) => client.close()));
  await sleep(300);
}

/** Latency of every delivery, and the deliveries inside the measured window. */
class Deliveries {
  readonly latencies: number[] = [];
  inWindow = 0;
  #open = false;
  #openedAt = 0;
  #seconds = 0;

  record = (_client: BenchClient, message: BenchMessage, at: number): void => {
    this.latencies.push(at - Number(message.text));
    if (this.#open) this.inWindow++;
  };

  open(): void {
    this.#open = true;
    this.#openedAt = performance.now();
  }

  close(): void {
    this.#open = false;
    this.#seconds = (performance.now() - this.#openedAt) / 1000;
  }

  figures(): Figure[] {
    return [
      { name: "deliveries/s", unit: "", value: Math.round(this.inWindow / this.#seconds), better: "higher" },
      { name: "latency p50", unit: "ms", value: percentile(this.latencies, 50), better: "lower" },
      { name: "latency p99", unit: "ms", value: percentile(this.latencies, 99), better: "lower" },
      { name: "latency max", unit: "ms", value: percentile(this.latencies, 100), better: "lower" },
    ];
  }
}

/**
 * Waits (at most 20 s) until every client has received every message sent in
 * its room, then counts what is missing and what came twice.
 */
async function settle(groups: BenchClient[][], sent: number[]): Promise<Figure[]> {
  const deadline = performance.now() + 20_000;
  const short = () => groups.some((group, g) => group.some((client) => client.received < sent[g]!));
  while (short() && performance.now() < deadline) await sleep(20);
  await sleep(100); // anything extra (a duplicate) would arrive now
  let loss = 0;
  let extra = 0;
  let errors = 0;
  groups.forEach((group, g) => {
    for (const client of group) {
      loss += Math.max(0, sent[g]! - client.received);
      extra += Math.max(0, client.received - sent[g]!);
      errors += client.errors.length;
    }
  });
  return [
    { name: "loss", unit: "msgs", value: loss, better: null },
    { name: "duplicates", unit: "msgs", value: extra, better: null },
    { name: "error frames", unit: "", value: errors, better: null },
  ];
}

/** Senders keep `inFlight` messages each in flight, sending the next on their own echo. */
async function closedLoop(
  target: Target,
  scenario: string,
  o: { rooms: number; perRoom: number; senders: number; inFlight: number; seconds: number },
): Promise<Figure[]> {
  const { groups } = await joinRooms(target, roomNames(scenario, target, o.rooms), o.perRoom);
  await sleep(300); // let the join notices settle
  const deliveries = new Deliveries();
  const sent = groups.map(() => 0);
  let running = true;
  let seq = 0;
  groups.forEach((group, g) => {
    for (const client of group) {
      client.received = 0;
      client.onMessage = deliveries.record;
    }
    for (const sender of group.slice(0, o.senders)) {
      sender.onMessage = (client, message, at) => {
        deliveries.record(client, message, at);
        if (running && message.from.id === client.me!.id) {
          sent[g]!++;
          client.send(`c${seq++}`);
        }
      };
    }
  });
  deliveries.open();
  groups.forEach((group, g) => {
    for (const sender of group.slice(0, o.senders)) {
      for (let k = 0; k < o.inFlight; k++) {
        sent[g]!++;
        sender.send(`c${seq++}`);
      }
    }
  });
  await sleep(o.seconds * 1000);
  running = false;
  deliveries.close();
  const settled = await settle(groups, sent);
  await closeAll(groups);
  return [...deliveries.figures(), ...settled];
}

/** `perSecond` messages in total, spread evenly over the senders (an open loop). */
async function openLoop(groups: BenchClient[][], senders: BenchClient[][], perSecond: number, seconds: number) {
  const deliveries = new Deliveries();
  const sent = groups.map(() => 0);
  for (const group of groups) {
    for (const client of group) {
      client.received = 0;
      client.onMessage = deliveries.record;
    }
  }
  const flat = senders.flatMap((group, g) => group.map((client) => ({ client, g })));
  let count = 0;
  deliveries.open();
  const started = performance.now();
  while (performance.now() - started < seconds * 1000) {
    const due = Math.floor(((performance.now() - started) / 1000) * perSecond);
    for (; count < due; count++) {
      const { client, g } = flat[count % flat.length]!;
      sent[g]!++;
      client.send(`o${count}`);
    }
    await sleep(2);
  }
  deliveries.close();
  const settled = await settle(groups, sent);
  return [...deliveries.figures(), ...settled];
}

function memory(target: Target, before: number): Figure[] {
  return [
    { name: "server RSS before", unit: "MiB", value: mib(before), better: null },
    { name: "server RSS after", unit: "MiB", value: mib(processGroupRssKib(target.pgid)), better: null },
  ];
}

/**
 * Which part of the server a process is: under wrangler dev, the proxy that
 * owns the public port (a workerd), the app itself (another workerd, with
 * the inspector), and wrangler (node); the baseline is one node process.
 */
function roleOf(command: string, target: Target): string {
  if (command.includes("workerd")) {
    const listens = command.includes(`--socket-addr=entry=127.0.0.1:${new URL(target.url).port} `);
    return listens && target.direct !== true ? "dev proxy (workerd)" : "app (workerd)";
  }
  if (command.includes("direct-server")) return "miniflare (node)";
  return command.includes("wrangler") ? "wrangler (node)" : "server (node)";
}

/** CPU seconds used so far by the target's processes, by role (roleOf). */
export function cpuByRole(target: Target): Map<string, number> {
  const roles = new Map<string, number>();
  for (const { command, seconds } of processGroupCpu(target.pgid)) {
    const role = roleOf(command, target);
    roles.set(role, (roles.get(role) ?? 0) + seconds);
  }
  return roles;
}

/** Runs `body` and adds where the CPU went (a profile by process) and the server's memory. */
const measured =
  (body: (target: Target) => Promise<Figure[]>) =>
  async (target: Target): Promise<Figure[]> => {
    const before = processGroupRssKib(target.pgid);
    const cpuBefore = cpuByRole(target);
    const ownBefore = process.cpuUsage();
    const figures = await body(target);
    const own = process.cpuUsage(ownBefore);
    const cpu: Figure[] = [];
    let total = 0;
    for (const [role, seconds] of cpuByRole(target)) {
      const used = seconds - (cpuBefore.get(role) ?? 0);
      total += used;
      if (role !== "server (node)")
        cpu.push({ name: `CPU, ${role}`, unit: "s", value: Math.round(used * 10) / 10, better: null });
    }
    cpu.unshift({ name: "CPU, server in all", unit: "s", value: Math.round(total * 10) / 10, better: null });
    cpu.push({
      name: "CPU, load generator",
      unit: "s",
      value: Math.round((own.user + own.system) / 1e5) / 10,
      better: null,
    });
    return [...figures, ...cpu, ...memory(target, before)];
  };

export const SCENARIOS: Scenario[] = [
  {
    name: "flood-1x50",
    description: "1 room, 50 clients, 10 senders with 4 messages each in flight (closed loop), 5 s",
    run: measured((target) =>
      closedLoop(target, "flood", { rooms: 1, perRoom: 50, senders: 10, inFlight: 4, seconds: 5 }),
    ),
  },
  {
    name: "rtt-1x50",
    description: "1 room, 50 clients, 1 sender with 1 message in flight: the latency floor of a broadcast, 5 s",
    run: measured((target) =>
      closedLoop(target, "rtt", { rooms: 1, perRoom: 50, senders: 1, inFlight: 1, seconds: 5 }),
    ),
  },
  {
    name: "rate-100x100",
    description: "1 room, 100 clients, 100 messages/s from all of them (10,000 deliveries/s), 5 s",
    run: measured(async (target) => {
      const { groups } = await joinRooms(target, roomNames("rate", target, 1), 100);
      await sleep(300);
      const figures = await openLoop(groups, groups, 100, 5);
      await closeAll(groups);
      return figures;
    }),
  },
  {
    name: "rooms-10x10",
    description: "10 rooms of 10 clients, 2 senders per room with 4 in flight each, 5 s",
    run: measured((target) =>
      closedLoop(target, "rooms", { rooms: 10, perRoom: 10, senders: 2, inFlight: 4, seconds: 5 }),
    ),
  },
  {
    name: "crowd-1000",
    description: "1,000 clients join one room, 100 at a time; then 20 messages/s for 10 s",
    run: measured(async (target) => {
      const room = roomNames("crowd", target, 1)[0]!;
      const started = performance.now();
      const { groups, joinMs } = await joinRooms(target, [room], 1000, 100);
      // Everyone joined: every client knows all 1,000 (welcome plus join notices).
      const deadline = performance.now() + 60_000;
      while (groups[0]!.some((client) => client.roster < 1000) && performance.now() < deadline) await sleep(10);
      const allJoined = (performance.now() - started) / 1000;
      const incomplete = groups[0]!.filter((client) => client.roster !== 1000).length;
      const figures = await openLoop(groups, [groups[0]!.slice(0, 50)], 20, 10);
      await closeAll(groups);
      return [
        { name: "everyone joined", unit: "s", value: Math.round(allJoined * 100) / 100, better: "lower" },
        { name: "join p50", unit: "ms", value: percentile(joinMs, 50), better: "lower" },
        { name: "join p99", unit: "ms", value: percentile(joinMs, 99), better: "lower" },
        { name: "rosters incomplete", unit: "", value: incomplete, better: null },
        ...figures.filter((f) => f.name !== "deliveries/s"),
      ];
    }),
  },
  {
    name: "join-history",
    description:
      "join latency into a room that holds 10,000 messages (history of 100 on join), 30 joins one after another",
    run: measured(async (target) => {
      const room = roomNames("history", target, 1)[0]!;
      const { client: filler } = await BenchClient.join(wsUrl(target, room), "filler");
      let sent = 0;
      const filled = new Promise<void>((resolve) => {
        filler.onMessage = (client, message) => {
          if (message.from.id !== client.me!.id) return;
          if (client.received >= 10_000) return resolve();
          if (sent < 10_000) client.send(`f${sent++}`);
        };
      });
      for (let k = 0; k < 16; k++) filler.send(`f${sent++}`);
      await filled;
      const joinMs: number[] = [];
      let history = Infinity;
      for (let i = 0; i < 30; i++) {
        const { client, ms } = await BenchClient.join(wsUrl(target, room), `reader${i}`);
        joinMs.push(ms);
        history = Math.min(history, client.historyOnJoin);
        await client.close();
      }
      await filler.close();
      return [
        { name: "join p50", unit: "ms", value: percentile(joinMs, 50), better: "lower" },
        { name: "join p99", unit: "ms", value: percentile(joinMs, 99), better: "lower" },
        { name: "history on join", unit: "msgs", value: history, better: null },
      ];
    }),
  },
  {
    name: "files-8x10MiB",
    files: true,
    description:
      "8 of 10 people in a room share a 10 MiB file at once, then 4 of them download all 8: throughput, and server memory that must not grow by the files' size",
    run: measured(async (target) => {
      const room = roomNames("files", target, 1)[0]!;
      const { groups } = await joinRooms(target, [room], 10);
      const members = groups[0]!;
      const size = 10 * 1024 * 1024 - 1024; // just under the default MAX_FILE_BYTES
      const data = Buffer.alloc(size);
      for (let i = 0; i < size; i++) data[i] = (i * 131 + (i >> 12)) & 0xff;
      let announced = 0;
      for (const member of members) member.onMessage = () => void announced++;

      const rssBefore = processGroupRssKib(target.pgid);
      let rssPeak = rssBefore;
      const sampler = setInterval(() => (rssPeak = Math.max(rssPeak, processGroupRssKib(target.pgid))), 100);
      const uploadMs: number[] = [];
      const started = performance.now();
      const urls = await Promise.all(
        members.slice(0, 8).map(async (member, i) => {
          const begun = performance.now();
          const response = await fetch(`${target.url}/api/rooms/${room}/files?name=part-${i}.bin`, {
            method: "POST",
            body: data,
            headers: { Authorization: `Bearer ${member.session}`, "Content-Type": "application/octet-stream" },
          });
          const answer = (await response.json()) as { file?: { url: string }; message?: string };
          uploadMs.push(performance.now() - begun);
          if (answer.file === undefined) throw new Error(`upload refused (${response.status}): ${answer.message}`);
          return answer.file.url;
        }),
      );
      const uploadSeconds = (performance.now() - started) / 1000;
      clearInterval(sampler);
      const deadline = Date.now() + 30_000;
      while (announced < 8 * members.length && Date.now() < deadline) await sleep(20);

      const downloadStarted = performance.now();
      let corrupt = 0;
      await Promise.all(
        members.slice(0, 4).flatMap(() =>
          urls.map(async (url) => {
            const body = Buffer.from(await (await fetch(`${target.url}${url}`)).arrayBuffer());
            if (!body.equals(data)) corrupt++;
          }),
        ),
      );
      const downloadSeconds = (performance.now() - downloadStarted) / 1000;
      await closeAll(groups);
      const mibPerSecond = (bytes: number, seconds: number) => Math.round((bytes / 1048576 / seconds) * 10) / 10;
      return [
        { name: "upload, all 8", unit: "MiB/s", value: mibPerSecond(8 * size, uploadSeconds), better: "higher" },
        { name: "upload p50", unit: "ms", value: Math.round(percentile(uploadMs, 50)), better: "lower" },
        { name: "upload max", unit: "ms", value: Math.round(percentile(uploadMs, 100)), better: "lower" },
        {
          name: "download, 32 at once",
          unit: "MiB/s",
          value: mibPerSecond(32 * size, downloadSeconds),
          better: "higher",
        },
        {
          name: "server RSS growth while uploading 80 MiB",
          unit: "MiB",
          value: mib(rssPeak - rssBefore),
          better: "lower",
        },
        { name: "loss", unit: "msgs", value: 8 * members.length - announced, better: null },
        { name: "corrupt files", unit: "", value: corrupt, better: null },
      ];
    }),
  },
  {
    name: "worst-frames",
    alone: true,
    description:
      "a room filled to retention (10,000 messages of 4,000 characters), every limit at its default: 10 members chatting (16 messages/s), calm, then while 3 addresses send the costliest frames at their limits; and what each costly frame costs alone",
    run: worstFrames,
  },
  {
    name: "idle-5000",
    description: `${IDLE_CONNECTIONS.toLocaleString("en")} idle connections across 50 rooms: memory per connection${
      IDLE_CONNECTIONS < 5000 ? ` (not 5,000: see the note above)` : ""
    }`,
    run: measured(async (target) => {
      const before = processGroupRssKib(target.pgid);
      const started = performance.now();
      const { groups } = await joinRooms(target, roomNames("idle", target, 50), IDLE_CONNECTIONS / 50, 250);
      const joined = (performance.now() - started) / 1000;
      await sleep(1000);
      const afterJoin = processGroupRssKib(target.pgid);
      const figures: Figure[] = [
        { name: "connections", unit: "", value: IDLE_CONNECTIONS, better: null },
        { name: "all joined", unit: "s", value: Math.round(joined * 10) / 10, better: "lower" },
        { name: "server RSS, all joined", unit: "MiB", value: mib(afterJoin), better: null },
        {
          name: "RSS per connection",
          unit: "KiB",
          value: Math.round((afterJoin - before) / IDLE_CONNECTIONS),
          better: "lower",
        },
      ];
      await closeAll(groups);
      return figures;
    }),
  },
];
