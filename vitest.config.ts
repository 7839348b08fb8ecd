// Tests: unit tests beside the code (src/**/*.test.ts), integration tests against real servers in test/.
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["src/**/*.test.ts", "test/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: "forks",
    // Integration files spawn real MCP servers; two cores are shared with them.
    maxWorkers: 2,
  },
});
