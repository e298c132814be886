/**
 * The budget: each page, HTML + JS + CSS, under 30 KB gzipped. Built fresh
 * from src/page with the project's own build script, into a temporary folder.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { expect, it } from "vitest";

const BUDGET_BYTES = 30 * 1024;
const root = fileURLToPath(new URL("../../", import.meta.url));
const gzipped = (path: string) => gzipSync(readFileSync(path), { level: 9 }).length;

it("keeps every page under 30 KB gzipped", () => {
  const outdir = mkdtempSync(join(tmpdir(), "edge-chat-pages-"));
  execFileSync(process.execPath, [join(root, "scripts/build-client.mjs"), "--outdir", outdir], { stdio: "pipe" });
  const css = gzipped(join(root, "public/style.css"));
  for (const [html, script] of [
    ["index.html", "home.js"],
    ["room.html", "room.js"],
  ] as const) {
    const total = gzipped(join(root, "public", html)) + gzipped(join(outdir, script)) + css;
    expect(total, `${html} + ${script} + style.css`).toBeLessThan(BUDGET_BYTES);
    expect(total).toBeGreaterThan(1000); // the build really produced something
  }
});
