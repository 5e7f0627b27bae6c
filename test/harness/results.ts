// Scenario tests and their outcomes. A multus-entrypoint scenario is an
// ordinary jest test: if it fails, the suite fails. A thin_entrypoint
// scenario is the peer's measurement: it runs the same body, but its outcome
// is recorded (with the reason) for the summary instead of failing the run,
// since upstream's known defects are what the comparison is meant to show.
import { test } from '@jest/globals';
import type { InstallerKind } from './installers.js';
import { recordResult as record } from './results-file.js';
import { redact } from './secrets.js';
/** Below jest's testTimeout, so a hung peer is recorded, not a jest failure. */
const SCENARIO_DEADLINE_MS = 100000;

function message(err: unknown): string {
  return redact(err instanceof Error ? err.message : String(err));
}

async function withDeadline(what: string, body: () => Promise<void>): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no outcome within ${SCENARIO_DEADLINE_MS} ms`)), SCENARIO_DEADLINE_MS);
  });
  try {
    await Promise.race([body(), deadline]);
  } finally {
    clearTimeout(timer);
  }
}

export function scenarioTitle(program: InstallerKind, scenario: string, part: string): string {
  return `${program} scenario ${scenario}: ${part}`;
}

/** Declares one part of a scenario for one program. */
export function scenarioTest(program: InstallerKind, scenario: string, part: string, body: () => Promise<void>): void {
  const title = scenarioTitle(program, scenario, part);
  test(title, async () => {
    try {
      await withDeadline(title, body);
      record({ program, scenario, part, passed: true });
    } catch (err) {
      record({ program, scenario, part, passed: false, reason: message(err) });
      // Only the program under test fails the run; the peer's failure is data.
      if (program === 'multus-entrypoint') throw err;
    }
  });
}
