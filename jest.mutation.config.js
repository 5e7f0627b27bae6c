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
  // Stryker runs its own test runners side by side; each one runs in band.
  maxWorkers: 1,
};
