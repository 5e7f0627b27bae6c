// Entry point: parse once, run, turn the outcome into an exit code.
// 0 clean stop / --once / --dry-run / --help, 1 the job failed, 2 usage error.
import { messageOf, UsageError, JobError } from '../base/errors.js';
import { createLogger } from '../observe/log.js';
import { parseWellFormed } from '../core/options.js';
import { run } from '../run/run.js';

async function main(): Promise<number> {
  let parsed;
  try {
    const argv = process.argv.slice(2);
    // commander only for what the fast path does not vouch for: imported
    // dynamically so the bundle does not run it at every start (issue 13).
    parsed = parseWellFormed(argv, process.env) ?? (await import('./command-line.js')).parseCommandLine(argv, process.env);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`multus-entrypoint: ${err.message}\nRun multus-entrypoint --help for the flags.\n`);
      return 2;
    }
    throw err;
  }
  if (parsed.kind === 'help') {
    process.stdout.write(parsed.text);
    return 0;
  }
  const log = createLogger(parsed.options.logFormat);
  try {
    await run(parsed.options, parsed.env, log);
    return 0;
  } catch (err) {
    if (err instanceof JobError || err instanceof UsageError) {
      log.error(err.message);
      return err.exitCode;
    }
    log.error(`unexpected failure: ${messageOf(err)}`);
    return 1;
  }
}

// Exit explicitly: watchers and servers must not keep a finished run alive.
// No top-level await: the image runs this as one CommonJS bundle.
void main().then((code) => process.exit(code));
