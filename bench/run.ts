/**
 * `npm run bench`: starts the app under `wrangler dev` (a free port, a fresh
 * state directory) and two yardsticks, runs every scenario against all three
 * from this one process, stops them, and prints a table with each figure's
 * ratio to each yardstick (or JSON with --json):
 *
 *   - the reference room (bench/reference): the simplest chat room on the
 *     platform, a hibernating Durable Object that broadcasts inside its
 *     handler, under the same wrangler dev settings: what edge-chat must
 *     not be slower than;
 *   - the Node baseline (baseline-server.ts): one process, rooms in memory,
 *     no storage: the least any server speaking the protocol can do.
 *
 *   npm run bench                      all scenarios
 *   npm run bench -- --only rtt-1x50   some (comma-separated)
 *   npm run bench -- --direct          both rooms without wrangler dev's proxy
 *                                      (scripts/direct-server.ts): the room's
 *                                      own cost, apart from the dev server's
 *   npm run bench -- --json            machine-readable
 *
 * The per-connection and per-IP rate limits are switched off, so the flood
 * scenarios measure the room rather than the limiter.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { gzipSync } from "node:zlib";
import { freePort, startDevServer } from "../scripts/dev-server.ts";
import { IDLE_CONNECTIONS, OPEN_FILES_LIMIT, SCENARIOS, type Figure, type Target } from "./scenarios.ts";

const { values: args } = parseArgs({
  options: {
    json: { type: "boolean", default: false },
    only: { type: "string" },
    direct: { type: "boolean", default: false },
  },
});
const root = new URL("..", import.meta.url);
const say = (line: string) => (args.json ? process.stderr : process.stdout).write(`${line}\n`);

/** Switches for the app under test: no rate limits, so floods measure the room. */
const VARS = { RATE_LIMIT_BURST: "0", FRAME_RATE_BURST: "0", IP_RATE_LIMITS: "off" };

async function startBaseline(): Promise<{ target: Target; stop: () => void }> {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    [new URL("baseline-server.ts", import.meta.url).pathname, "--port", String(port)],
    {
      stdio: "inherit",
      detached: true,
    },
  );
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    try {
      if ((await fetch(`${url}/api/health`)).ok) break;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  return { target: { name: "baseline", url, pgid: child.pid! }, stop: () => process.kill(-child.pid!, "SIGTERM") };
}

/** The Worker bundle as `wrangler deploy --dry-run` reports it, and the room page's gzipped weight. */
async function sizes(): Promise<Figure[]> {
  const outdir = mkdtempSync(join(tmpdir(), "edge-chat-dry-run-"));
  const output = await new Promise<string>((resolve) => {
    const child = spawn(
      process.execPath,
      [new URL("../scripts/wrangler.mjs", import.meta.url).pathname, "deploy", "--dry-run", "--outdir", outdir],
      {
        cwd: root,
      },
    );
    let text = "";
    child.stdout.on("data", (chunk) => (text += chunk));
    child.stderr.on("data", (chunk) => (text += chunk));
    child.on("close", () => resolve(text));
  });
  rmSync(outdir, { recursive: true, force: true });
  const upload = /Total Upload: ([\d.]+) KiB \/ gzip: ([\d.]+) KiB/.exec(output);
  const gz = (path: string) => gzipSync(readFileSync(new URL(path, root))).byteLength;
  const page = ["public/room.html", "public/style.css", "public/js/room.js"].reduce((sum, path) => sum + gz(path), 0);
  return [
    { name: "Worker bundle", unit: "KiB", value: Number(upload?.[1] ?? NaN), better: null },
    { name: "Worker bundle, gzipped", unit: "KiB", value: Number(upload?.[2] ?? NaN), better: null },
    { name: "room page (HTML+CSS+JS), gzipped", unit: "KiB", value: Math.round(page / 102.4) / 10, better: null },
  ];
}

function format(value: number): string {
  if (!Number.isFinite(value)) return "–";
  if (Number.isInteger(value)) return value.toLocaleString("en");
  return value >= 100 ? Math.round(value).toLocaleString("en") : value.toFixed(1);
}

function ratio(edge: Figure, baseline: Figure | undefined): string {
  if (baseline === undefined || edge.better === null || !(baseline.value > 0)) return "";
  return `${(edge.value / baseline.value).toFixed(2)}×`;
}

/** The reference room's wrangler.toml (bench/reference). */
const REFERENCE_CONFIG = new URL("reference/wrangler.toml", import.meta.url).pathname;

const selected = args.only === undefined ? SCENARIOS : SCENARIOS.filter((s) => args.only!.split(",").includes(s.name));
if (selected.length === 0) {
  console.error(`No such scenario: ${args.only}. Scenarios: ${SCENARIOS.map((s) => s.name).join(", ")}.`);
  process.exit(2);
}

const started = performance.now();
const wranglerVersion = JSON.parse(readFileSync(new URL("node_modules/wrangler/package.json", root), "utf8"))
  .version as string;
const machine = {
  cores: cpus().length,
  cpu: cpus()[0]?.model ?? "unknown",
  node: process.version,
  wrangler: wranglerVersion,
};
say(
  `edge-chat benchmark, ${new Date().toISOString().slice(0, 10)}: ${machine.cores} cores (${machine.cpu}), Node ${machine.node}, wrangler ${machine.wrangler}`,
);
say(
  `Rate limits off for the app under test (${Object.entries(VARS)
    .map(([k, v]) => `${k}=${v}`)
    .join(", ")}).`,
);

if (IDLE_CONNECTIONS < 5000 && selected.some((s) => s.name === "idle-5000")) {
  say(
    `Note: the open-files limit here is ${OPEN_FILES_LIMIT.toLocaleString("en")}; wrangler dev's proxy needs about 4.3 per WebSocket, ` +
      `so idle-5000 holds ${IDLE_CONNECTIONS.toLocaleString("en")} connections (raise it with \`ulimit -n 25000\` for all 5,000).`,
  );
}
const server = args.direct ? "without the dev proxy (--direct)" : "under wrangler dev";
say(`edge-chat and the reference room ${server}; the Node baseline alone.`);
const baseline = await startBaseline();
const stateDir = mkdtempSync(join(tmpdir(), "edge-chat-bench-"));
const referenceStateDir = mkdtempSync(join(tmpdir(), "edge-chat-bench-reference-"));
// One after the other: two wrangler dev starting at once can both pick the
// same port for one of their own sockets ("Address already in use"). A
// failed start stops what was started, rather than leaving it running.
const running: { stop(): Promise<void> }[] = [];
async function start(options: Parameters<typeof startDevServer>[0]) {
  try {
    const server = await startDevServer(options);
    running.push(server);
    return server;
  } catch (error) {
    baseline.stop();
    await Promise.all(running.map((server) => server.stop()));
    throw error;
  }
}
const app = await start({ stateDir, vars: VARS, direct: args.direct });
const referenceServer = await start({ stateDir: referenceStateDir, config: REFERENCE_CONFIG, direct: args.direct });
const edge: Target = { name: "edge-chat", url: app.url, pgid: app.pid, direct: args.direct };
const reference: Target = {
  name: "reference",
  url: referenceServer.url,
  pgid: referenceServer.pid,
  direct: args.direct,
};

const results: { scenario: string; description: string; edge: Figure[]; reference: Figure[]; baseline: Figure[] }[] =
  [];
try {
  for (const scenario of selected) {
    say(`\n${scenario.name}: ${scenario.description}`);
    const base = scenario.alone === true ? [] : await scenario.run(baseline.target);
    const ref = scenario.files === true || scenario.alone === true ? [] : await scenario.run(reference);
    const ours = await scenario.run(edge);
    results.push({
      scenario: scenario.name,
      description: scenario.description,
      edge: ours,
      reference: ref,
      baseline: base,
    });
    const width = Math.max(...ours.map((f) => `${f.name} (${f.unit})`.length));
    say(
      `  ${"figure".padEnd(width)}  ${"edge-chat".padStart(10)}  ${"reference".padStart(10)}  ${"node".padStart(10)}  vs ref  vs node`,
    );
    for (const figure of ours) {
      const other = base.find((f) => f.name === figure.name);
      const refFigure = ref.find((f) => f.name === figure.name);
      const label = figure.unit === "" ? figure.name : `${figure.name} (${figure.unit})`;
      say(
        `  ${label.padEnd(width)}  ${format(figure.value).padStart(10)}  ${format(refFigure?.value ?? NaN).padStart(10)}  ` +
          `${format(other?.value ?? NaN).padStart(10)}  ${ratio(figure, refFigure).padStart(6)}  ${ratio(figure, other)}`,
      );
    }
  }
} finally {
  await Promise.all([app.stop(), referenceServer.stop()]);
  baseline.stop();
  rmSync(stateDir, { recursive: true, force: true });
  rmSync(referenceStateDir, { recursive: true, force: true });
}

const size = await sizes();
say("\nsizes");
for (const figure of size) say(`  ${figure.name}: ${format(figure.value)} ${figure.unit}`);
const seconds = Math.round((performance.now() - started) / 1000);
say(`\n${results.length} scenarios in ${seconds} s.`);
const problems = results.flatMap((r) =>
  r.edge
    .filter(
      (f) =>
        ["loss", "duplicates", "error frames", "rosters incomplete", "corrupt files"].includes(f.name) && f.value !== 0,
    )
    .map((f) => `${r.scenario}: ${f.name} ${f.value}`),
);
if (problems.length > 0) say(`PROBLEMS: ${problems.join("; ")}`);
if (args.json)
  process.stdout.write(
    `${JSON.stringify({ date: new Date().toISOString(), machine, direct: args.direct, vars: VARS, seconds, results, sizes: size }, null, 2)}\n`,
  );
process.exit(problems.length > 0 ? 1 : 0);
