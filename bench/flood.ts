/**
 * `npm run bench:flood`: what one flood from a socket that never joined costs
 * a room under `wrangler dev`. One person in a room measures the round trip
 * of their own message every 200 ms; meanwhile a socket that never joins
 * sends N `typing` frames as fast as it can (N = 300, then 3,000). The room
 * cuts it off (1008) after about 30 refusals and drops the rest unread; what
 * the frames already sent still cost shows in workerd's CPU and in the
 * person's round trips. Figures in BENCHMARKS.md ("Soak with attackers").
 *
 *   npm run bench:flood                 under wrangler dev
 *   npm run bench:flood -- --direct     without its dev proxy (scripts/direct-server.ts)
 */
import { parseArgs } from "node:util";
import WebSocket from "ws";
import { startDevServer } from "../scripts/dev-server.ts";
import { cpuByRole } from "./scenarios.ts";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const { values: args } = parseArgs({ options: { direct: { type: "boolean", default: false } } });
const server = await startDevServer({ vars: { IP_RATE_LIMITS: "off" }, direct: args.direct });
const url = `${server.url.replace(/^http/, "ws")}/api/rooms/flood-bench/websocket`;
const open = (): Promise<WebSocket> =>
  new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    ws.once("open", () => resolve(ws));
    ws.once("error", reject);
  });
/** CPU seconds of each workerd process, by role: the app's, and (unless --direct) the dev proxy's. */
const target = { name: "edge-chat", url: server.url, pgid: server.pid, direct: args.direct };
const workerdSeconds = () => new Map([...cpuByRole(target)].filter(([role]) => role.includes("workerd")));

try {
  const person = await open();
  person.send(JSON.stringify({ type: "join", nick: "Person" }));
  await sleep(500);
  let echoed: (() => void) | null = null;
  person.on("message", (data) => {
    if (data.toString().includes('"text":"round trip"')) echoed?.();
  });
  /** Round trips of the person's own message, one every 200 ms, for `ms`. */
  const roundTrips = async (ms: number): Promise<number[]> => {
    const times: number[] = [];
    for (const end = Date.now() + ms; Date.now() < end; await sleep(200)) {
      const sent = performance.now();
      const back = new Promise<void>((resolve) => (echoed = resolve));
      person.send(JSON.stringify({ type: "message", text: "round trip" }));
      await Promise.race([back, sleep(10_000)]);
      times.push(Math.round(performance.now() - sent));
    }
    return times;
  };
  console.log(`no flood: round trips ${(await roundTrips(2000)).join(", ")} ms`);
  for (const frames of [300, 3000]) {
    const cpuBefore = workerdSeconds();
    const flooder = await open();
    const started = performance.now();
    const closed = new Promise<number>((resolve) => flooder.once("close", resolve));
    for (let i = 0; i < frames; i++) flooder.send('{"type":"typing"}');
    const during = roundTrips(3000);
    const code = await closed;
    const cutOffMs = Math.round(performance.now() - started);
    const times = await during;
    const used = [...workerdSeconds()].map(([name, seconds]) => [name, seconds - (cpuBefore.get(name) ?? 0)] as const);
    const cpu = used.reduce((sum, [, seconds]) => sum + seconds, 0);
    console.log(
      `flood of ${frames}: closed ${code} after ${cutOffMs} ms; workerd CPU ${cpu.toFixed(2)} s ` +
        `(${used.map(([name, seconds]) => `${name} ${seconds.toFixed(2)}`).join(", ")}; ${((cpu / frames) * 1000).toFixed(2)} ms a frame); ` +
        `round trips ${times.join(", ")} ms`,
    );
  }
  person.close();
} finally {
  await server.stop();
}
