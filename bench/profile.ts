/**
 * `npm run bench:profile`: where the app's own process spends its CPU during
 * a broadcast. Starts `wrangler dev` with an inspector, joins 50 clients to
 * one room, has one of them send with one message in flight (rtt-1x50) for
 * 5 s while V8's sampling profiler runs in the Worker, and prints the
 * functions with the most self time.
 *
 *   npm run bench:profile                under wrangler dev
 *   npm run bench:profile -- --direct    without its dev proxy (scripts/direct-server.ts)
 *   npm run bench:profile -- --reference the reference room (bench/reference) instead
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import WebSocket from "ws";
import { freePort, startDevServer } from "../scripts/dev-server.ts";
import { BenchClient } from "./client.ts";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
}

const { values: args } = parseArgs({
  options: { direct: { type: "boolean", default: false }, reference: { type: "boolean", default: false } },
});
const config = args.reference ? new URL("reference/wrangler.toml", import.meta.url).pathname : undefined;
const workerName = args.reference ? "edge-chat-reference" : "edge-chat";
const inspectorPort = await freePort();
const stateDir = mkdtempSync(join(tmpdir(), "edge-chat-profile-"));
const server = await startDevServer({
  stateDir,
  vars: { RATE_LIMIT_BURST: "0", FRAME_RATE_BURST: "0", IP_RATE_LIMITS: "off" },
  extraArgs: ["--inspector-port", String(inspectorPort)],
  direct: args.direct,
  ...(config === undefined ? {} : { config }),
});
try {
  // wrangler dev's inspector proxy, or workerd's own inspector, where the Worker is a target of its own.
  const inspector = new WebSocket(`ws://127.0.0.1:${inspectorPort}/${args.direct ? `core:user:${workerName}` : "ws"}`);
  await new Promise((resolve) => inspector.once("open", resolve));
  let lastId = 0;
  const answers = new Map<number, (result: unknown) => void>();
  inspector.on("message", (data) => {
    const reply = JSON.parse(data.toString()) as { id?: number; result?: unknown };
    if (reply.id !== undefined) answers.get(reply.id)?.(reply.result);
  });
  const call = <T>(method: string, params: object = {}) =>
    new Promise<T>((resolve) => {
      const id = ++lastId;
      answers.set(id, resolve as (result: unknown) => void);
      inspector.send(JSON.stringify({ id, method, params }));
    });

  const url = `${server.url.replace(/^http/, "ws")}/api/rooms/profile/websocket`;
  const clients: BenchClient[] = [];
  for (let i = 0; i < 50; i++) clients.push((await BenchClient.join(url, `p${i}`)).client);
  await new Promise((resolve) => setTimeout(resolve, 500));

  await call("Profiler.enable");
  await call("Profiler.setSamplingInterval", { interval: 100 });
  await call("Profiler.start");
  const sender = clients[0]!;
  let running = true;
  let sent = 0;
  sender.onMessage = (client, message) => {
    if (running && message.from.id === client.me!.id) client.send(`c${++sent}`);
  };
  sender.send("c0");
  await new Promise((resolve) => setTimeout(resolve, 5000));
  running = false;
  const { profile } = await call<{ profile: Profile }>("Profiler.stop");
  inspector.close();
  await Promise.all(clients.map((client) => client.close()));

  const frames = new Map(profile.nodes.map((node) => [node.id, node.callFrame]));
  const selfTime = new Map<string, number>();
  for (const sample of profile.samples) {
    const frame = frames.get(sample)!;
    const name = `${frame.functionName || "(anonymous)"}${frame.url === "" ? "" : ` (${frame.url.split("/").pop()}:${frame.lineNumber + 1})`}`;
    selfTime.set(name, (selfTime.get(name) ?? 0) + 1);
  }
  console.log(`${sent} messages to 50 people in 5 s; self time in the Worker's isolate (sampled every 0.1 ms):`);
  for (const [name, count] of [...selfTime].sort((a, b) => b[1] - a[1]).slice(0, 20)) {
    console.log(`  ${((100 * count) / profile.samples.length).toFixed(1).padStart(5)}%  ${name}`);
  }
} finally {
  await server.stop();
  rmSync(stateDir, { recursive: true, force: true });
}
