// npm run test:mutation: StrykerJS over every layer of src/ but the entry
// point, against test/unit (stryker.config.json), incremental, then one
// verdict line, printed last:
//   mutation: score S% (killed K of N, survived M, timeout T, no coverage C)
// S counts killed and timed-out mutants as detected, out of all that ran or
// had no test (compile errors, found by the TypeScript checker, are not
// mutants a test could catch). Exits 1 below the target (80%), or if
// Stryker fails.
// MUTATION_FULL=1 ignores the incremental cache (a full run).
// MUTATION_MUTATE=src/a.ts,src/b.ts mutates only those files (a quick look;
// its own cache and sandbox dir, so it can run beside a full run).
import { Stryker } from '@stryker-mutator/core';

const TARGET = 80;

const overrides = process.env.MUTATION_FULL === '1' ? { force: true } : {};
const only = (process.env.MUTATION_MUTATE ?? '').split(',').map((f) => f.trim()).filter((f) => f !== '');
if (only.length > 0) {
  Object.assign(overrides, { mutate: only, incrementalFile: 'reports/stryker-incremental-partial.json', tempDirName: '.stryker-tmp-partial' });
}
let results;
try {
  results = await new Stryker(overrides).runMutationTest();
} catch (err) {
  console.error(`mutation: Stryker failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
}

const count = (status) => results.filter((r) => r.status === status).length;
const killed = count('Killed');
const survived = count('Survived');
const timeout = count('Timeout');
const noCoverage = count('NoCoverage');
const valid = killed + survived + timeout + noCoverage;
const score = valid === 0 ? 0 : ((killed + timeout) * 100) / valid;
const errors = count('CompileError') + count('RuntimeError');
if (errors > 0) console.log(`(${errors} mutants did not compile or crashed the runner; not counted)`);
console.log(`mutation: score ${score.toFixed(2)}% (killed ${killed} of ${valid}, survived ${survived}, timeout ${timeout}, no coverage ${noCoverage})`);
process.exitCode = valid > 0 && score >= TARGET ? 0 : 1;
