/**
 * wrangler.toml against the code and the docs: every [vars] limit and every
 * [[ratelimits]] binding is documented, and the bindings' window is the one
 * the code computes Retry-After from.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { LIMITS } from "../../src/worker/config";
import { IP_LIMIT_PERIOD_SECONDS } from "../../src/worker/ip-rate-limit";

const read = (path: string) => readFileSync(new URL(`../../${path}`, import.meta.url), "utf8");
const toml = read("wrangler.toml");
const readme = read("README.md");
const security = read("docs/security.md");

/** The [[ratelimits]] tables: name, limit, period. */
const rateLimits = [
  ...toml.matchAll(
    /\[\[ratelimits\]\]\s*\nname = "(\w+)".*\nnamespace_id = "(\d+)"\s*\nsimple = \{ limit = (\d+), period = (\d+) \}/g,
  ),
].map(([, name, namespace, limit, period]) => ({
  name: name!,
  namespace: namespace!,
  limit: Number(limit),
  period: Number(period),
}));

describe("wrangler.toml", () => {
  it("has the four per-IP limits, each in its own namespace, on the window the code assumes", () => {
    expect(rateLimits.map((r) => r.name).sort()).toEqual([
      "MESSAGE_RATE_LIMIT",
      "ROOM_CREATE_RATE_LIMIT",
      "UPGRADE_RATE_LIMIT",
      "UPLOAD_RATE_LIMIT",
    ]);
    expect(new Set(rateLimits.map((r) => r.namespace)).size).toBe(4);
    for (const r of rateLimits) expect(r.period, r.name).toBe(IP_LIMIT_PERIOD_SECONDS);
  });

  it("documents every per-IP limit with its default, in the README and docs/security.md", () => {
    for (const r of rateLimits) {
      expect(readme, r.name).toContain(`| \`${r.name}\` | ${r.limit} a minute |`);
      expect(security, r.name).toContain(`\`${r.name}\` binding: ${r.limit.toLocaleString("en")} a minute`);
    }
    expect(readme).toContain("| `IP_RATE_LIMITS` | on |");
    expect(security).toContain("IP_RATE_LIMITS");
  });

  it("lists every [vars] limit with its default in the README", () => {
    for (const setting of Object.values(LIMITS)) {
      expect(toml, setting.env).toContain(`${setting.env} = "${setting.default}"`);
      expect(readme, setting.env).toContain(`| \`${setting.env}\` | ${setting.default} |`);
    }
  });
});
