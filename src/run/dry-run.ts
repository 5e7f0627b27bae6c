// --dry-run: what would be written, on stdout, with the token masked.
import type { Desired } from '../core/desired.js';

export function printPlan(desired: Desired, mask: (text: string) => string, notes: string[] = []): void {
  const out: string[] = notes.filter((n) => n !== '').map((n) => `# ${n}`);
  for (const file of desired.files) {
    out.push(`# would write ${file.path} (mode ${file.mode.toString(8).padStart(4, '0')}, the ${file.what})`, mask(file.content).trimEnd());
  }
  for (const path of desired.remove) out.push(`# would remove ${path} if present`);
  if (desired.renameMaster) out.push(`# would rename ${desired.renameMaster.from} to ${desired.renameMaster.to}`);
  process.stdout.write(`${out.join('\n')}\n`);
}
