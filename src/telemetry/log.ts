// Structured JSON logs on stdout (pino): one object a line, ready for any log shipper.
import { pino, type Logger } from 'pino';

export type { Logger };

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export function createLogger(level: (typeof LOG_LEVELS)[number] = 'info'): Logger {
  return pino({ name: 'orb-learn', level, base: { service: 'orb-learn' }, timestamp: pino.stdTimeFunctions.isoTime });
}
