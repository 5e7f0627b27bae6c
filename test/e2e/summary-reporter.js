// Jest reporter that ends the e2e run with its one-line verdict on stdout:
//   e2e: N/N scenarios passed with multus-entrypoint; M/K with thin_entrypoint
// A scenario passes for a program when all of its parts ran and passed. Parts
// are jest tests titled "<program> scenario <id>: <part>"; thin_entrypoint's
// parts always pass in jest, so their outcome comes from the records the
// tests append to $MULTUS_E2E_RESULTS. The scenario list is fixed in
// scenarios.json, so a test file that failed to load counts as failed, not
// as absent. Jest appends its own summary reporter after every custom one, so
// to have the last word this reporter wraps jest's default and summary
// reporters itself (the config lists only this one). Under CI=true a
// skipped suite, or any skipped test, fails the run (exit 1, through
// getLastError) instead of looking green. Plain JavaScript: jest loads
// reporters without transforming them.
import { DefaultReporter, SummaryReporter, VerboseReporter } from '@jest/reporters';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { skipFailsUnderCi } from '../ci.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const TITLE = /^(multus-entrypoint|thin_entrypoint) scenario (\w+): (.*)$/;

/** @returns {{programs: string[], scenarios: Record<string, string>}} */
function scenarioList() {
  return JSON.parse(fs.readFileSync(path.join(HERE, 'scenarios.json'), 'utf8'));
}

/** @returns {Array<{program: string, scenario: string, part: string, passed: boolean, reason?: string}>} */
function records() {
  const file = process.env.MULTUS_E2E_RESULTS;
  if (!file || !fs.existsSync(file)) return [];
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l));
}

/** @returns {string | undefined} */
function skipReason() {
  const dir = process.env.MULTUS_E2E_RUN_DIR;
  if (!dir) return 'the e2e global setup did not run';
  try {
    return JSON.parse(fs.readFileSync(path.join(dir, 'state.json'), 'utf8')).skip;
  } catch {
    return undefined;
  }
}

/** @typedef {import('@jest/reporters').Reporter} Reporter */

export default class E2eSummaryReporter {
  /** @param {import('@jest/types').Config.GlobalConfig} globalConfig */
  constructor(globalConfig) {
    /** @type {Reporter[]} */
    this.inner = [globalConfig.verbose ? new VerboseReporter(globalConfig) : new DefaultReporter(globalConfig), new SummaryReporter(globalConfig, {})];
    /** @type {Error | undefined} set when a skip must fail the run */
    this.skipError = undefined;
  }

  /** @param {Parameters<NonNullable<Reporter['onRunStart']>>} args */
  onRunStart(...args) {
    for (const r of this.inner) r.onRunStart?.(...args);
  }

  /** @param {Parameters<NonNullable<Reporter['onTestFileStart']>>} args */
  onTestFileStart(...args) {
    for (const r of this.inner) (r.onTestFileStart ?? r.onTestStart)?.call(r, ...args);
  }

  /** @param {Parameters<NonNullable<Reporter['onTestCaseResult']>>} args */
  onTestCaseResult(...args) {
    for (const r of this.inner) r.onTestCaseResult?.(...args);
  }

  /** @param {Parameters<NonNullable<Reporter['onTestFileResult']>>} args */
  onTestFileResult(...args) {
    for (const r of this.inner) (r.onTestFileResult ?? r.onTestResult)?.call(r, ...args);
  }

  getLastError() {
    if (this.skipError) return this.skipError;
    for (const r of this.inner) {
      const err = r.getLastError?.();
      if (err) return err;
    }
    return undefined;
  }

  /** @param {import('@jest/reporters').TestContext[]} contexts @param {import('@jest/reporters').AggregatedResult} results */
  async onRunComplete(contexts, results) {
    for (const r of this.inner) await r.onRunComplete?.(contexts, results);
    this.printVerdict(results);
  }

  /** @param {import('@jest/reporters').AggregatedResult} results */
  printVerdict(results) {
    const skip = skipReason();
    const pending = results.numPendingTests + results.numTodoTests;
    const failure = skip
      ? skipFailsUnderCi('e2e', `the suite was skipped (${skip})`)
      : pending > 0 ? skipFailsUnderCi('e2e', `${pending} test(s) skipped`) : undefined;
    if (failure) this.skipError = new Error(failure);
    if (skip) {
      process.stdout.write(`e2e: skipped: ${skip}${failure ? ' (FAILED: CI=true)' : ''}\n`);
      return;
    }
    const { programs, scenarios } = scenarioList();
    /** @type {Map<string, {parts: number, failed: string[]}>} */
    const byKey = new Map();
    const key = (/** @type {string} */ program, /** @type {string} */ id) => `${program}#${id}`;
    for (const file of results.testResults) {
      for (const t of file.testResults) {
        const m = TITLE.exec(t.title);
        if (!m) continue;
        const [, program, id, part] = m;
        const entry = byKey.get(key(program, id)) ?? { parts: 0, failed: [] };
        entry.parts += 1;
        if (t.status !== 'passed') entry.failed.push(`${part}: jest status ${t.status}`);
        byKey.set(key(program, id), entry);
      }
    }
    for (const r of records()) {
      if (r.passed) continue;
      const entry = byKey.get(key(r.program, r.scenario)) ?? { parts: 0, failed: [] };
      const reason = (r.reason ?? '').split('\n').slice(0, 14).join('\n      ');
      entry.failed.push(`${r.part}: ${reason}`);
      byKey.set(key(r.program, r.scenario), entry);
    }
    const lines = [];
    const counts = programs.map((program) => {
      let passed = 0;
      for (const [id, name] of Object.entries(scenarios)) {
        const entry = byKey.get(key(program, id));
        if (entry && entry.parts > 0 && entry.failed.length === 0) {
          passed += 1;
        } else {
          const why = entry ? [...new Set(entry.failed)] : ['did not run'];
          lines.push(`  ${program} failed scenario ${id} (${name}):\n    - ${why.join('\n    - ')}`);
        }
      }
      return { program, passed, total: Object.keys(scenarios).length };
    });
    if (lines.length) process.stdout.write(`\ne2e failures by scenario:\n${lines.join('\n')}\n\n`);
    const [ours, thin] = counts;
    if (failure) process.stdout.write(`${failure}\n`);
    const skipped = pending > 0 ? `, ${pending} test(s) skipped` : '';
    process.stdout.write(`e2e: ${ours.passed}/${ours.total} scenarios passed with ${ours.program}; ${thin.passed}/${thin.total} with ${thin.program}${skipped}\n`);
  }
}
