// Native ESM (client-node is ESM-only): run with node --experimental-vm-modules.
export default {
  testEnvironment: "node",
  extensionsToTreatAsEsm: [".ts"],
  roots: ["<rootDir>/test"],
  testMatch: ["**/*.test.ts"],
  moduleNameMapper: { "^(\\.{1,2}/.*)\\.js$": "$1" },
  transform: {
    "^.+\\.ts$": ["ts-jest", { useESM: true, tsconfig: "tsconfig.json" }],
  },
  testTimeout: 60000,
  // Child processes and sockets of the live tests are all stopped in afterAll hooks, but a
  // stray keep-alive handle must never hold a finished run (and CI) open.
  forceExit: true,
};
