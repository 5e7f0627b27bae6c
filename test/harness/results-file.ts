// Where scenario outcomes are appended (one JSON object a line), for the
// summary reporter. Kept apart from results.ts, which needs jest's globals,
// because the global setup (outside the test environment) needs the name.
import fs from 'node:fs';

export const RESULTS_ENV = 'MULTUS_E2E_RESULTS';

export interface ScenarioRecord {
  program: 'multus-entrypoint' | 'thin_entrypoint';
  scenario: string;
  part: string;
  passed: boolean;
  reason?: string;
}

export function recordResult(r: ScenarioRecord): void {
  const file = process.env[RESULTS_ENV];
  if (file) fs.appendFileSync(file, `${JSON.stringify(r)}\n`);
}
