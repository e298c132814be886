import { defineConfig } from "vitest/config";

// The soak test (`npm run test:soak`): minutes of load against the real
// `wrangler dev`, kept out of `npm test` and `npm run test:e2e`.
export default defineConfig({
  test: {
    name: "soak",
    include: ["test/soak/**/*.test.ts"],
    environment: "node",
    testTimeout: (Number(process.env.SOAK_SECONDS ?? 60) + 240) * 1000,
    hookTimeout: 90_000,
  },
});
