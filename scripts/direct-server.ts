/**
 * The app without `wrangler dev`'s proxy, for the benchmark and the soak:
 * the bundle `wrangler deploy` would upload, run by Miniflare alone.
 *
 * Under `wrangler dev`, every request and every WebSocket frame crosses
 * three processes: wrangler's Node process, the dev proxy's workerd, and the
 * app's workerd. Here clients talk to the app's workerd directly, as they
 * talk to Cloudflare's edge in production, so a figure measures the Worker,
 * the rooms and the runtime, not the dev server. The configuration is
 * wrangler.toml's, read by wrangler itself (bindings, Durable Objects,
 * rate limits, assets), so the app is the same one `npm run dev` serves.
 *
 *   node scripts/direct-server.ts [--ip 127.0.0.1] [--port 8787]
 *        [--persist-to DIR] [--var NAME:VALUE]... [--inspector-port N]
 *        [--config wrangler.toml]
 *
 * Prints `ready on http://…` once it answers, and stops on SIGINT/SIGTERM.
 * Plain Node (type-stripped TypeScript), like dev-server.ts.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { Miniflare, convertV4MiniflareOptions } from "miniflare";
import { unstable_getMiniflareWorkerOptions, unstable_readConfig } from "wrangler";

const root = fileURLToPath(new URL("..", import.meta.url));
const { values: args } = parseArgs({
  options: {
    ip: { type: "string", default: "127.0.0.1" },
    port: { type: "string", default: "8787" },
    "persist-to": { type: "string", default: join(root, ".wrangler", "state") },
    var: { type: "string", multiple: true, default: [] },
    "inspector-port": { type: "string" },
    config: { type: "string", default: join(root, "wrangler.toml") },
  },
});

// The bundle exactly as `wrangler deploy` makes it (the page is built first,
// by wrangler.toml's [build] command).
const outdir = mkdtempSync(join(tmpdir(), "edge-chat-bundle-"));
const config = resolve(args.config);
const build = spawnSync(
  process.execPath,
  [join(root, "scripts", "wrangler.mjs"), "deploy", "--dry-run", "--outdir", outdir, "--config", config],
  {
    cwd: root,
    encoding: "utf8",
  },
);
if (build.status !== 0) {
  process.stderr.write(`${build.stdout}${build.stderr}\ndirect-server: the bundle did not build\n`);
  process.exit(1);
}

const vars: Record<string, string> = {};
for (const pair of args.var) {
  const colon = pair.indexOf(":");
  if (colon < 1) throw new Error(`--var wants NAME:VALUE, not ${pair}`);
  vars[pair.slice(0, colon)] = pair.slice(colon + 1);
}

// wrangler's own reading of wrangler.toml, minus what only applies to unbundled
// sources (module rules), since the bundle is one module.
const { modulesRules: _rules, rootPath: _root, ...worker } = unstable_getMiniflareWorkerOptions(config).workerOptions;
const script = join(outdir, "worker.js");
const mf = new Miniflare(
  convertV4MiniflareOptions({
    host: args.ip,
    port: Number(args.port),
    ...(args["inspector-port"] === undefined ? {} : { inspectorPort: Number(args["inspector-port"]) }),
    // Where and how `wrangler dev --persist-to DIR` keeps Durable Objects and R2.
    resourcePersistencePath: join(args["persist-to"], "v3"),
    workers: [
      {
        ...worker,
        // The Worker's name, which names its storage on disk as wrangler dev does.
        name: unstable_readConfig({ config }).name,
        modulesRoot: outdir,
        modules: [{ type: "ESModule", path: script, contents: readFileSync(script) }],
        bindings: Object.assign({}, worker.bindings, vars), // wrangler.toml's [vars], then --var
      },
    ],
  }),
);

const url = await mf.ready;
process.stdout.write(`ready on ${url.origin}\n`);

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  await mf.dispose();
  rmSync(outdir, { recursive: true, force: true });
  process.exit(0);
};
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.on(signal, () => void stop());
