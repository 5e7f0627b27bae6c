// --restart-crio (from upstream v3): restart CRI-O once after the first
// config is written, so it picks Multus up. A failure is logged, not fatal.
import type { Logger } from './log.js';

export async function restartCrio(log: Logger): Promise<void> {
  const { execa } = await import('execa');
  try {
    await execa('systemctl', ['restart', 'crio'], { timeout: 60_000 });
    log.info('restarted crio (--restart-crio)');
  } catch (err) {
    const detail = err instanceof Error ? err.message.split('\n')[0] : String(err);
    log.error('systemctl restart crio failed (--restart-crio); continuing', { error: detail });
  }
}
