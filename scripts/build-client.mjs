// Bundles the browser pages: src/page/{home,room}.ts → public/js/{home,room}.js.
// Usage: node scripts/build-client.mjs [--outdir DIR] (exits non-zero when the
// build fails). --outdir builds elsewhere, e.g. for the page-size test.
import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { build } from "esbuild";

const root = fileURLToPath(new URL("..", import.meta.url));
const flag = process.argv.indexOf("--outdir");
const outdir = flag === -1 ? "public/js" : resolve(process.argv[flag + 1] ?? "");

// The output is overwritten in place, never deleted first: a wrangler dev
// that rebuilds (on start, or on a change) must not leave pages without
// their script for a moment.
let result;
try {
  result = await build({
    absWorkingDir: root,
    entryPoints: { home: "src/page/home.ts", room: "src/page/room.ts" },
    outdir,
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    minify: true,
    sourcemap: "linked",
    metafile: true,
    logLevel: "warning",
  });
} catch {
  // esbuild has already printed the errors.
  process.exit(1);
}

for (const file of Object.keys(result.metafile.outputs)) {
  if (!file.endsWith(".js")) continue;
  const bytes = await readFile(resolve(root, file));
  const kb = (n) => `${(n / 1024).toFixed(1)} kB`;
  console.log(`${file.padEnd(20)} ${kb(bytes.length).padStart(8)}  (${kb(gzipSync(bytes).length)} gzipped)`);
}
