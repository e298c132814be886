/**
 * The budget: each page, HTML + JS + CSS, under 30 KB gzipped. Built fresh
 * from src/page with the project's own build script, into a temporary folder.
 * A page's JS is its script and every chunk it imports statically; chunks
 * loaded on demand (the call, moderation, a message's menu, search) are not
 * part of opening the page.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { expect, it } from "vitest";

const BUDGET_BYTES = 30 * 1024;
const root = fileURLToPath(new URL("../../", import.meta.url));
const gzipped = (path: string) => gzipSync(readFileSync(path), { level: 9 }).length;

interface Meta {
  outputs: Record<string, { imports: { path: string; kind: string }[] }>;
}

it("keeps every page under 30 KB gzipped", () => {
  const outdir = mkdtempSync(join(tmpdir(), "edge-chat-pages-"));
  execFileSync(process.execPath, [join(root, "scripts/build-client.mjs"), "--outdir", outdir], { stdio: "pipe" });
  const meta = JSON.parse(readFileSync(join(outdir, "meta.json"), "utf8")) as Meta;
  const byName = new Map(Object.entries(meta.outputs).map(([path, output]) => [basename(path), output]));
  /** The script and what it imports statically, transitively. */
  const loadedWith = (script: string, seen = new Set<string>()): Set<string> => {
    seen.add(script);
    for (const { path, kind } of byName.get(script)?.imports ?? [])
      if (kind === "import-statement" && !seen.has(basename(path))) loadedWith(basename(path), seen);
    return seen;
  };
  const css = gzipped(join(root, "public/style.css"));
  for (const [html, script] of [
    ["index.html", "home.js"],
    ["room.html", "room.js"],
  ] as const) {
    const scripts = [...loadedWith(script)];
    const js = scripts.reduce((sum, file) => sum + gzipped(join(outdir, file)), 0);
    const total = gzipped(join(root, "public", html)) + js + css;
    expect(total, `${html} + ${scripts.join(" + ")} + style.css`).toBeLessThan(BUDGET_BYTES);
    expect(total).toBeGreaterThan(1000); // the build really produced something
  }
  // What a room needs only sometimes is there, loaded on demand; room.js is one request.
  for (const chunk of ["call-view.js", "moderate.js", "message-menu.js", "search.js"])
    expect(byName.has(chunk), chunk).toBe(true);
  expect([...loadedWith("room.js")]).toEqual(["room.js"]);
});
