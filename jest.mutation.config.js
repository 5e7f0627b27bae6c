// The tests Stryker runs against each mutant (npm run test:mutation): those
// that run src/ in this process. The integration tests that start the built
// command as a child process cannot see a mutant, so they are left out.
import base from './jest.config.js';

/** @type {import('jest').Config} */
export default {
  ...base,
  transform: { '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: 'tsconfig.json', diagnostics: false }] },
  testMatch: ['<rootDir>/test/unit/**/*.test.ts', '<rootDir>/test/unit/run/reconciler.test.ts', '<rootDir>/test/unit/run/reconciler-events.test.ts'],
};
