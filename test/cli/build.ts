/**
 * Vitest globalSetup: builds dist/edge-chat.mjs once, before any test file
 * runs, so the tests drive exactly what `npx edge-chat` runs, built from the
 * current sources (and no two files build it at the same time).
 */
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";

export default function buildCli(): void {
  const script = fileURLToPath(new URL("../../scripts/build-cli.mjs", import.meta.url));
  execFileSync(process.execPath, [script, "--quiet"], { stdio: "inherit", timeout: 60_000 });
}
