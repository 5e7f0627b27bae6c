// --restart-crio (from upstream v3): restart CRI-O once after the first
// config is written, so it picks Multus up. A failure is logged, not fatal.
import { messageOf } from '../base/errors.js';
import type { Logger } from '../observe/log.js';

const TIMEOUT_MS = 60_000;

export async function restartCrio(log: Logger): Promise<void> {
  const { execa, ExecaError } = await import('execa');
  try {
    await execa('systemctl', ['restart', 'crio'], { timeout: TIMEOUT_MS });
    log.info('restarted crio (--restart-crio)');
  } catch (err) {
    // Say why in a line: what systemctl itself printed is the useful part.
    let why = messageOf(err).split('\n')[0] ?? '';
    if (err instanceof ExecaError) {
      const stderr: unknown = err.stderr;
      const said = typeof stderr === 'string' ? stderr.trim().split('\n').slice(-3).join(' ').slice(0, 300) : '';
      if (err.code === 'ENOENT') why = 'systemctl is not on PATH';
      else if (err.timedOut) why = `no answer within ${TIMEOUT_MS / 1000} s`;
      else why = `${err.shortMessage.split('\n')[0]}${said ? `: ${said}` : ''}`;
    }
    log.error('systemctl restart crio failed (--restart-crio); continuing', { error: why });
  }
}
