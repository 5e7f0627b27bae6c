// What the real-node suite's time goes to: each phase notes its seconds
// here, and the report prints them as one table, so the cost of a scenario,
// an upstream e2e cell or the node's set-up is visible in every run.
const phases: { what: string; s: number }[] = [];

/** Notes a phase that began at `sinceMs`; returns its seconds. */
export function notePhase(what: string, sinceMs: number): number {
  const s = Math.round((Date.now() - sinceMs) / 1000);
  phases.push({ what, s });
  return s;
}

/** The table: one row per phase, in the order they ran, and their sum. */
export function phaseTable(): string[] {
  if (phases.length === 0) return [];
  const sum = phases.reduce((n, p) => n + p.s, 0);
  return ['| phase | s |', '|---|---|', ...phases.map((p) => `| ${p.what} | ${p.s} |`), `| sum of phases | ${sum} |`, ''];
}
