// Which test file holds which test, as Stryker's initial run saw them, so
// that a mutant's run loads only the files with a test that covered it.
// Stryker hands jest the covering tests as a name pattern, and jest loads
// every related file (--findRelatedTests) even when none of its tests
// match: a mutant in a module many others import paid to load some twenty
// test files to run the tests of two or three.
// The index is a file, because the initial run happens in one test runner
// process and mutants run in several; one per sandbox (the working directory).
'use strict';
const { createHash } = require('node:crypto');
const { mkdirSync, readFileSync, writeFileSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');

const indexPath = join(tmpdir(), 'multus-entrypoint-mutation', `${createHash('sha256').update(process.cwd()).digest('hex').slice(0, 16)}.json`);

/** Test names by test file path, as recorded so far by this process. */
const recorded = {};

/** Adds the tests of one file (the initial run). */
function recordTests(testPath, names) {
  recorded[testPath] = names;
  mkdirSync(join(indexPath, '..'), { recursive: true });
  writeFileSync(indexPath, JSON.stringify(recorded));
}

/** The recorded index, or undefined when there is none (then every file runs). */
function readIndex() {
  try {
    return JSON.parse(readFileSync(indexPath, 'utf8'));
  } catch {
    return undefined;
  }
}

module.exports = { recordTests, readIndex };
