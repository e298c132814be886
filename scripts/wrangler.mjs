// Runs wrangler for the npm scripts, with the settings this project wants on
// every machine: no Cloudflare API lookups for `request.cf` and no telemetry,
// so that `npm run dev` works offline and prints no network errors. A value
// already in the environment wins. (A script rather than `VAR=value wrangler`
// so that it works in every shell, Windows' included.)
import { spawn } from "node:child_process";
import { constants } from "node:os";
import { fileURLToPath } from "node:url";

const wrangler = fileURLToPath(new URL("../node_modules/wrangler/bin/wrangler.js", import.meta.url));
const env = { CLOUDFLARE_CF_FETCH_ENABLED: "false", WRANGLER_SEND_METRICS: "false", ...process.env };

const child = spawn(process.execPath, [wrangler, ...process.argv.slice(2)], { stdio: "inherit", env });
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) process.on(signal, () => child.kill(signal));
child.on("exit", (code, signal) => process.exit(code ?? 128 + (constants.signals[signal] ?? 0)));
