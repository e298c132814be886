import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

/** Smaller limits than the defaults, so that tests reach every one of them
 * quickly. The defaults themselves are tested in config.test.ts. */
const bindings = {
  HISTORY_ON_JOIN: "20",
  HISTORY_ON_RESUME: "30",
  HISTORY_RETENTION: "50",
  HISTORY_MAX_BYTES: "65536",
  MAX_CONNECTIONS_PER_ROOM: "8",
  MAX_CONNECTIONS_PER_ADDRESS: "4",
  // Long enough for any test's own joins on a busy machine.
  JOIN_TIMEOUT_MS: "5000",
  PING_TIMEOUT_MS: "1500",
  ALLOWED_ORIGINS: "https://friend.example",
  MAX_FILE_BYTES: "262144",
  ROOM_FILES_QUOTA_BYTES: "600000",
  UPLOAD_BYTES_PER_HOUR: "550000",
  MAX_CALL_PARTICIPANTS: "3",
  SIGNAL_RATE_BURST: "8",
  SIGNAL_RATE_PER_SECOND: "2",
  MAX_SIGNAL_BYTES: "4000",
  // A kick's cool-down a test can wait out.
  KICK_COOLDOWN_SECONDS: "1",
};

/** Per-IP limits a test reaches in a few requests. Only requests that carry
 * CF-Connecting-IP are counted, so other tests are not limited. */
const ratelimits = {
  UPGRADE_RATE_LIMIT: { namespace_id: "1001", simple: { limit: 5, period: 60 } },
  ROOM_CREATE_RATE_LIMIT: { namespace_id: "1002", simple: { limit: 3, period: 60 } },
  MESSAGE_RATE_LIMIT: { namespace_id: "1003", simple: { limit: 12, period: 60 } },
  UPLOAD_RATE_LIMIT: { namespace_id: "1004", simple: { limit: 3, period: 60 } },
} as const;

/** The Workers runtime (workerd) with this project's wrangler.toml and `vars`. */
const workers = (vars: Record<string, string>) =>
  cloudflareTest({
    wrangler: { configPath: "./wrangler.toml" },
    miniflare: { bindings: { ...bindings, ...vars }, ratelimits },
  });

export default defineConfig({
  test: {
    // The room's structured logs are for `wrangler tail`; show them only for failing tests.
    silent: "passed-only",
    projects: [
      {
        // Unit and integration tests inside the Workers runtime.
        plugins: [workers({})],
        test: { name: "workers", include: ["test/*.test.ts"], exclude: ["test/budgets.test.ts"], testTimeout: 15_000 },
      },
      {
        // The same, with the room-wide budgets a test reaches in a few frames
        // (the defaults leave every other test unhindered).
        plugins: [
          workers({
            ROOM_READS_BURST: "6",
            ROOM_READS_PER_SECOND: "3",
            ROOM_EDITS_BURST: "4",
            ROOM_EDITS_PER_SECOND: "2",
          }),
        ],
        test: { name: "budgets", include: ["test/budgets.test.ts"], testTimeout: 15_000 },
      },
      {
        // In Node: the docs against the protocol module, the whole app under
        // a real `wrangler dev` driven from outside, and the terminal client
        // (built once by the globalSetup) against it. The client's
        // pseudo-terminal tests need tmux: they are in vitest.e2e.config.ts.
        test: {
          name: "node",
          include: ["test/node/**/*.test.ts", "test/e2e/**/*.test.ts", "test/cli/*.test.ts"],
          environment: "node",
          globalSetup: ["test/cli/build.ts"],
          testTimeout: 60_000,
          hookTimeout: 90_000,
        },
      },
    ],
  },
});
