import { defineConfig } from "vitest/config";

// The end-to-end tests that need more than Node (`npm run test:e2e`):
// Chromium driving the real `wrangler dev` (test/browser), and the terminal
// client in a real pseudo-terminal under tmux (test/cli/pty). Kept out of
// vitest.config.ts, so that `npm test` stays fast and needs neither.
export default defineConfig({
  test: {
    name: "e2e",
    include: ["test/browser/**/*.test.ts", "test/cli/pty/**/*.test.ts"],
    environment: "node",
    // Builds dist/edge-chat.mjs once for the terminal tests.
    globalSetup: ["test/cli/build.ts"],
    // One file at a time: each runs its own wrangler dev (and Chromium or
    // tmux), and two of those at once on a small machine make every wait a guess.
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 90_000,
    teardownTimeout: 30_000,
  },
});
