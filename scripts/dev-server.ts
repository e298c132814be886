/**
 * Starts the real `wrangler dev` on a free loopback port, for the tests and
 * the benchmark, which must see the app exactly as a user does: static
 * assets, the Worker, Durable Objects and their SQLite files on disk.
 *
 * Plain Node (type-stripped TypeScript, node: imports only), so that both
 * Vitest and `node bench/run.ts` can load it.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { mkdtempSync, readFileSync, readdirSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** The npm scripts' way of running wrangler (offline settings included). */
const WRANGLER = fileURLToPath(new URL("./wrangler.mjs", import.meta.url));
/** The same app without wrangler's dev proxy (see direct-server.ts). */
const DIRECT = fileURLToPath(new URL("./direct-server.ts", import.meta.url));

export interface DevServer {
  url: string;
  port: number;
  stateDir: string;
  /** The launcher's process id, which is also the id of the process group
   * that wrangler and workerd run in (what stop() signals). */
  pid: number;
  /** Everything wrangler printed, for error messages. */
  output: () => string;
  stop: (signal?: NodeJS.Signals) => Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() =>
        typeof address === "object" && address !== null ? resolve(address.port) : reject(new Error("no port")),
      );
    });
  });
}

/** Fails, naming the port, when something already listens on it: its answers would pass for ours. */
async function assertPortFree(port: number): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const server = createServer();
    server.once("error", () => reject(new Error(`port ${port} on 127.0.0.1 is already in use`)));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve()));
  });
}

export const newStateDir = (): string => mkdtempSync(join(tmpdir(), "edge-chat-state-"));

export interface DevServerOptions {
  /** Where Durable Objects keep their state; a new temporary directory when absent. */
  stateDir?: string;
  /** A port to listen on (to restart a server where its clients expect it); a free one when absent. */
  port?: number;
  vars?: Record<string, string>;
  /** More wrangler dev arguments (e.g. --inspector-port). */
  extraArgs?: string[];
  /** Serve the deployable bundle with Miniflare alone, without wrangler dev's
   * proxy in front (direct-server.ts): for measuring the app, not the dev server. */
  direct?: boolean;
  /** Another Worker's wrangler.toml (the benchmark's reference room); the app's when absent. */
  config?: string;
  timeoutMs?: number;
}

export async function startDevServer(options: DevServerOptions = {}): Promise<DevServer> {
  if (options.port !== undefined) await assertPortFree(options.port);
  const port = options.port ?? (await freePort());
  const stateDir = options.stateDir ?? newStateDir();
  const args = options.direct
    ? [DIRECT, "--ip", "127.0.0.1", "--port", String(port), "--persist-to", stateDir]
    : [
        WRANGLER,
        "dev",
        "--ip",
        "127.0.0.1",
        "--port",
        String(port),
        "--persist-to",
        stateDir,
        "--show-interactive-dev-session=false",
      ];
  if (options.config !== undefined) args.push("--config", options.config);
  for (const [name, value] of Object.entries(options.vars ?? {})) args.push("--var", `${name}:${value}`);
  args.push(...(options.extraArgs ?? []));
  // The same Node that runs the tests runs wrangler (the system one may be too old).
  const child: ChildProcess = spawn(process.execPath, args, {
    stdio: ["ignore", "pipe", "pipe"],
    detached: true, // its own process group, so that stop() ends workerd too
  });
  let output = "";
  child.stdout!.on("data", (chunk) => (output += chunk));
  child.stderr!.on("data", (chunk) => (output += chunk));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));

  const stop = async (signal: NodeJS.Signals = "SIGTERM") => {
    if (child.exitCode === null && child.signalCode === null) {
      try {
        process.kill(-child.pid!, signal);
      } catch {
        // already gone
      }
    }
    await exited;
  };

  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  while (Date.now() < deadline) {
    if (child.exitCode !== null) break;
    try {
      if ((await fetch(`${url}/api/health`)).ok)
        return { url, port, stateDir, pid: child.pid!, output: () => output, stop };
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  await stop("SIGKILL");
  throw new Error(`${options.direct ? "direct-server" : "wrangler dev"} did not become ready on ${url}:\n${output}`);
}

/** Resident memory (KiB) of a process group: wrangler, its workerd and their
 * helpers, or any server started detached (its pid is the group's id). Linux only. */
export function processGroupRssKib(pgid: number): number {
  let total = 0;
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // The fields after the command name (which may hold spaces) start after ")".
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (Number(fields[2]) !== pgid) continue; // the process group
      total += Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${entry}/status`, "utf8"))?.[1] ?? 0);
    } catch {
      // The process ended while we looked.
    }
  }
  return total;
}

/** CPU time used so far (user + system, in seconds) by each process of a
 * group, with its command line. Linux only. */
export function processGroupCpu(pgid: number): { pid: number; command: string; seconds: number }[] {
  const processes = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (Number(fields[2]) !== pgid) continue;
      // utime and stime, in clock ticks (100 a second on Linux).
      const seconds = (Number(fields[11]) + Number(fields[12])) / 100;
      const command = readFileSync(`/proc/${entry}/cmdline`, "utf8").replaceAll("\0", " ");
      processes.push({ pid: Number(entry), command, seconds });
    } catch {
      // The process ended while we looked.
    }
  }
  return processes;
}
