// npm test: test/unit (src/ in this process), test/cli (the built program
// as a child process), test/deploy (the Dockerfile, manifests and chart)
// and the pure parts of the fleet simulation's harness (test/fleet).
// ESM TypeScript through ts-jest; jest runs with --experimental-vm-modules
// (see package.json).
/** @type {import('jest').Config} */
export default {
  testEnvironment: 'node',
  // Per checkout: a transform cache shared in /tmp with other checkouts (or
  // a mutation run's sandboxes) was seen handing an ESM test CommonJS output.
  cacheDirectory: '<rootDir>/node_modules/.cache/jest',
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: { '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: 'tsconfig.json' }] },
  roots: ['<rootDir>/test'],
  testMatch: ['<rootDir>/test/unit/**/*.test.ts', '<rootDir>/test/cli/**/*.test.ts', '<rootDir>/test/deploy/**/*.test.ts', '<rootDir>/test/fleet/**/*.test.ts'],
  testTimeout: 60000,
  // Two workers on CI's 2 cores: the test/cli suites mostly wait on the
  // program's timers, so a second worker nearly halves the wall time (jest's
  // default there is one).
  maxWorkers: 2,
};
