/** A pino logger that writes into memory, so tests can read what was logged. */
import { createLogger, type Logger } from '../../../src/log/logger.js';

/** A logger and the lines it wrote. */
export interface CapturedLog {
  logger: Logger;
  /** Every line written so far, parsed. */
  lines(): Array<Record<string, unknown>>;
  /** Everything written so far, raw. */
  text(): string;
}

export function captureLogger(level = 'info'): CapturedLog {
  const chunks: string[] = [];
  const logger = createLogger({ level, destination: { write: (chunk: string) => void chunks.push(chunk) } });
  return {
    logger,
    lines: () =>
      chunks
        .join('')
        .split('\n')
        .filter((line) => line.trim() !== '')
        .map((line) => JSON.parse(line) as Record<string, unknown>),
    text: () => chunks.join(''),
  };
}
