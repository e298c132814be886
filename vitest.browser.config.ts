import { defineConfig } from "vitest/config";

// The end-to-end browser tests (`npm run test:e2e`): Chromium driving the real
// `wrangler dev`. Kept out of vitest.config.ts, so that `npm test` stays fast.
export default defineConfig({
  test: {
    name: "browser",
    include: ["test/browser/**/*.test.ts"],
    environment: "node",
    // One file at a time: each runs its own wrangler dev and Chromium, and
    // two of those at once on a small machine make every wait a guess.
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 90_000,
    teardownTimeout: 30_000,
  },
});
