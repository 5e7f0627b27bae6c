// The tests Stryker runs against each mutant (npm run test:mutation): all of
// test/unit, which runs src/ in this process. test/cli starts the built
// program as a child process and cannot see a mutant; test/deploy reads the
// Dockerfile, manifests and chart, none of the mutated code. Both are out.
import base from './jest.config.js';

/** @type {import('jest').Config} */
export default {
  ...base,
  transform: { '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: 'tsconfig.json', diagnostics: false }] },
  testMatch: ['<rootDir>/test/unit/**/*.test.ts'],
  // Skips a mutant's remaining tests once one fails, and records which file
  // holds which test in Stryker's initial run; the sequencer then loads
  // only the files with a test that covered the mutant (the files say why).
  testEnvironment: './test/mutation/stop-at-first-failure.cjs',
  testSequencer: './test/mutation/only-covering-files.cjs',
  // src/ in the roots so that --findRelatedTests (stryker.config.json) sees
  // every test that imports a mutated file, directly or through other
  // modules; with only test/ it finds just the direct importers.
  roots: ['<rootDir>/test', '<rootDir>/src'],
  // A mutant that hangs a test fails it here, killed, before Stryker's own
  // timeout, which would restart the test runner. The slowest test takes a
  // few seconds; the few that take longer set their own deadline.
  testTimeout: 10000,
  // Stryker runs its own test runners side by side; each one runs in band.
  maxWorkers: 1,
};
