// Logs on stderr, one line per event, with time and level: text or JSON.
// Secrets registered here (the service-account token) are masked in every
// line, as a last guard: no code path should pass them in the first place.
import { writeSync } from 'node:fs';
import { isoTime } from '../base/iso-time.js';
import type { LogFormat } from '../core/options.js';

type Level = 'info' | 'warn' | 'error';
type Fields = Record<string, string | number | boolean | undefined>;

export interface Logger {
  info(msg: string, fields?: Fields): void;
  warn(msg: string, fields?: Fields): void;
  error(msg: string, fields?: Fields): void;
  /** Masks this value wherever it would appear in a log line. */
  addSecret(secret: string): void;
  /** The text with every registered secret masked (for output other than logs). */
  mask(text: string): string;
}

const REDACTED = '[redacted]';
const MAX_SECRETS = 4;

let stderrStream = false;

/**
 * Writes a line to fd 2 directly. Creating process.stderr loads net and
 * the streams (a pod's stderr is a pipe): ~20% of the start-up CPU, for a
 * few lines. Once a write would block or fails, the stream takes over, so
 * lines keep their order.
 */
function writeStderr(line: string): void {
  let rest = Buffer.from(line);
  if (!stderrStream) {
    try {
      while (rest.length > 0) rest = rest.subarray(writeSync(2, rest));
      return;
    } catch {
      stderrStream = true;
    }
  }
  process.stderr.write(rest);
}

export function createLogger(format: LogFormat, write: (line: string) => void = writeStderr): Logger {
  const secrets = new Set<string>();
  const mask = (s: string): string => {
    let out = s;
    for (const secret of secrets) out = out.split(secret).join(REDACTED);
    return out;
  };
  const emit = (level: Level, msg: string, fields: Fields = {}): void => {
    const time = isoTime(Date.now());
    const defined = Object.entries(fields).filter(([, v]) => v !== undefined);
    if (format === 'json') {
      write(`${mask(JSON.stringify({ time, level, msg, ...Object.fromEntries(defined) }))}\n`);
      return;
    }
    const extra = defined.map(([k, v]) => ` ${k}=${typeof v === 'string' && /\s/.test(v) ? JSON.stringify(v) : String(v)}`).join('');
    write(`${mask(`${time} ${level.toUpperCase().padEnd(5)} ${msg}${extra}`)}\n`);
  };
  return {
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    addSecret: (secret) => {
      // Too short a value would mask ordinary words. Only the latest few are
      // kept: a token rotated every hour would otherwise grow the set forever.
      if (secret.length < 8 || secrets.has(secret)) return;
      secrets.add(secret);
      if (secrets.size > MAX_SECRETS) secrets.delete(secrets.values().next().value!);
    },
    mask,
  };
}
