// The mutation run's test environment.
// - Once a test fails against a mutant, the mutant is killed, so the rest of
//   its tests are skipped, in this file and the next ones of the same run.
//   Stryker stops at the first failure with other test runners; its jest
//   runner cannot (jest only bails per file). Without it, a mutant that
//   hangs a widely used call (a promise that never settles) waits out the
//   test timeout once per covering test, then Stryker's own timeout, which
//   also restarts the runner.
// - In Stryker's initial run (no mutant active) it records which file holds
//   which test (test-index.cjs), for the sequencer (only-covering-files.cjs).
// Plain jest runs every test, as does Stryker's initial run.
'use strict';
const { TestEnvironment } = require('jest-environment-node');
const { recordTests } = require('./test-index.cjs');

// Stryker names the mutant under test in this variable of the runner's process.
const ACTIVE_MUTANT = '__STRYKER_ACTIVE_MUTANT__';

/** The mutant whose run already has a failed test. Kept across test files: jest runs them in this process one by one. */
let killed;

/** A test's full name as jest's --testNamePattern (and Stryker) sees it: its describe blocks' names, then its own. */
function fullName(test) {
  const names = [];
  for (let block = test.parent; block?.parent; block = block.parent) names.unshift(block.name);
  return [...names, test.name].join(' ');
}

class StopAtFirstFailure extends TestEnvironment {
  #testPath;
  #names = [];

  constructor(config, context) {
    super(config, context);
    this.#testPath = context.testPath;
  }

  handleTestEvent(event) {
    const mutant = process.env[ACTIVE_MUTANT];
    if (mutant === undefined) {
      if (event.name === 'test_start') this.#names.push(fullName(event.test));
      else if (event.name === 'run_finish' && process.env.STRYKER_MUTATOR_WORKER !== undefined) recordTests(this.#testPath, this.#names);
      return;
    }
    if (event.name === 'test_fn_failure' || event.name === 'hook_failure') killed = mutant;
    else if (event.name === 'test_start' && killed === mutant) event.test.mode = 'skip';
  }
}

module.exports = StopAtFirstFailure;
