/**
 * Graceful shutdown of a service process: on SIGTERM or SIGINT, stop consuming, let
 * in-flight work finish (bounded by graceful_shutdown_timeout), close the pools and
 * exit 0. A second signal, or a stop that overruns the bound by 10 s, exits at once.
 */
import type { Logger } from '../log/logger.js';

/** Something that can be stopped. */
export interface Stoppable {
  stop(): Promise<void>;
}

/** Waits for SIGTERM/SIGINT, stops `runtime`, then exits the process. */
export function runUntilSignal(runtime: Stoppable, boundSeconds: number, logger: Logger): Promise<void> {
  return new Promise((resolve) => {
    let stopping = false;
    const onSignal = (signal: NodeJS.Signals) => {
      if (stopping) {
        logger.warn({ signal }, 'second signal: exiting now');
        process.exit(1);
      }
      stopping = true;
      logger.info({ signal, bound_seconds: boundSeconds }, 'stopping: no new work, finishing in-flight work');
      const force = setTimeout(() => {
        logger.error('shutdown overran its bound; exiting');
        process.exit(1);
      }, (boundSeconds + 10) * 1000);
      force.unref();
      runtime
        .stop()
        .then(() => {
          logger.info('stopped cleanly');
          logger.flush?.();
          resolve();
          setImmediate(() => process.exit(0));
        })
        .catch((error: unknown) => {
          logger.error({ err: error }, 'error while stopping');
          process.exit(1);
        });
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
}

/**
 * While a service is still starting (waiting for its broker or database), SIGTERM or
 * SIGINT ends the process at once with exit 0 and a log line: there is no work in
 * flight to finish. `dispose()` once started, then use {@link runUntilSignal}.
 */
export function exitOnSignalDuringStartup(logger: Logger): { dispose(): void } {
  const onSignal = (signal: NodeJS.Signals) => {
    logger.info({ signal }, 'stopped before start-up finished (still waiting for the broker or the database)');
    logger.flush?.();
    setImmediate(() => process.exit(0));
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  return {
    dispose: () => {
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
    },
  };
}
