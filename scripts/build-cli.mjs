// Bundles the terminal client: cli/chat.ts, with the protocol module, the
// token bucket and the browser's connection it shares, → dist/edge-chat.mjs,
// one ES module with a #!/usr/bin/env node line, marked executable. Node
// cannot run our TypeScript (nor its extensionless imports) itself, and the
// bundle needs nothing from node_modules at run time.
// Usage: node scripts/build-cli.mjs [--quiet] [--outfile FILE] (exits
// non-zero when the build fails). Run by `npm install` (prepare), `npm run
// chat` and the tests.
import { chmod, stat } from "node:fs/promises";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = fileURLToPath(new URL("..", import.meta.url));
const quiet = process.argv.includes("--quiet");
const flag = process.argv.indexOf("--outfile");
const outfile = resolve(root, flag === -1 ? "dist/edge-chat.mjs" : (process.argv[flag + 1] ?? ""));

try {
  await build({
    absWorkingDir: root,
    entryPoints: ["cli/chat.ts"],
    outfile,
    bundle: true,
    format: "esm",
    platform: "node",
    // Node 22 is the first with a global WebSocket.
    target: "node22",
    banner: { js: "#!/usr/bin/env node" },
    // Readable stack traces beat a few saved kilobytes in a CLI.
    minify: false,
    logLevel: "warning",
  });
} catch {
  // esbuild has already printed the errors.
  process.exit(1);
}
await chmod(outfile, 0o755);
if (!quiet) console.log(`${outfile} ${((await stat(outfile)).size / 1024).toFixed(1)} kB`);
