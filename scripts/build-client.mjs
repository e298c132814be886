// Bundles the browser pages: src/page/{home,room}.ts → public/js/{home,room}.js,
// plus the room's code loaded on demand (the call: public/js/call-view.js).
// Usage: node scripts/build-client.mjs [--outdir DIR] (exits non-zero when the
// build fails). --outdir builds elsewhere, e.g. for the page-size test, and
// also writes esbuild's metafile there as meta.json (which files load what).
import { readFile, writeFile } from "node:fs/promises";
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
const options = {
  absWorkingDir: root,
  outdir,
  bundle: true,
  format: "esm",
  platform: "browser",
  target: "es2022",
  minify: true,
  sourcemap: "linked",
  metafile: true,
  logLevel: "warning",
};
// Two builds, so that the pages share no chunk: each loads one script, and
// the room splits off only what it imports on demand. Chunks keep their
// module's name without a hash, so a rebuild overwrites them in place.
const outputs = {};
try {
  for (const [name, entry, splitting] of [
    ["home", "src/page/home.ts", false],
    ["room", "src/page/room.ts", true],
  ]) {
    const result = await build({ ...options, entryPoints: { [name]: entry }, splitting, chunkNames: "[name]" });
    Object.assign(outputs, result.metafile.outputs);
  }
} catch {
  // esbuild has already printed the errors.
  process.exit(1);
}
if (flag !== -1) await writeFile(resolve(outdir, "meta.json"), JSON.stringify({ outputs }));

for (const file of Object.keys(outputs)) {
  if (!file.endsWith(".js")) continue;
  const bytes = await readFile(resolve(root, file));
  const kb = (n) => `${(n / 1024).toFixed(1)} kB`;
  console.log(`${file.padEnd(20)} ${kb(bytes.length).padStart(8)}  (${kb(gzipSync(bytes).length)} gzipped)`);
}
