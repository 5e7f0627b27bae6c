// The mutation run's test environment: once a test fails against a mutant,
// the mutant is killed, so the rest of its tests are skipped, in this file
// and the next ones of the same run. Stryker stops at the first failure
// with other test runners; its jest runner cannot (jest only bails per
// file). Without it, a mutant that hangs a widely used call (a promise
// that never settles) waits out the test timeout once per covering test,
// then Stryker's own timeout, which also restarts the runner.
// Plain jest runs, and Stryker's initial run (no mutant active), run every test.
'use strict';
const { TestEnvironment } = require('jest-environment-node');

// Stryker names the mutant under test in this variable of the runner's process.
const ACTIVE_MUTANT = '__STRYKER_ACTIVE_MUTANT__';

/** The mutant whose run already has a failed test. Kept across test files: jest runs them in this process one by one. */
let killed;

class StopAtFirstFailure extends TestEnvironment {
  handleTestEvent(event) {
    const mutant = process.env[ACTIVE_MUTANT];
    if (mutant === undefined) return;
    if (event.name === 'test_fn_failure' || event.name === 'hook_failure') killed = mutant;
    else if (event.name === 'test_start' && killed === mutant) event.test.mode = 'skip';
  }
}

module.exports = StopAtFirstFailure;
