// The mutation run's test sequencer: when Stryker runs a mutant against the
// tests that covered it (a name pattern), only the files holding one of
// them are loaded (test-index.cjs says why). Without a pattern, or without
// an index, or for a file the index does not know, every file runs, in the
// order jest found them.
'use strict';
const { readIndex } = require('./test-index.cjs');

let index;

class OnlyCoveringFiles {
  #pattern;

  constructor({ globalConfig }) {
    // As jest matches --testNamePattern: case-insensitive.
    this.#pattern = globalConfig.testNamePattern ? new RegExp(globalConfig.testNamePattern, 'i') : undefined;
  }

  sort(tests) {
    if (this.#pattern === undefined) return tests;
    index ??= readIndex();
    if (index === undefined) return tests;
    return tests.filter((test) => {
      const names = index[test.path];
      return names === undefined || names.some((name) => this.#pattern.test(name));
    });
  }

  allFailedTests(tests) {
    return tests;
  }

  cacheResults() {}
}

module.exports = OnlyCoveringFiles;
