import { GpumuxError } from '../../common/errors.js';
import { parseDuration } from '../../common/duration.js';

const MAX_DEADLINE_MS = 10 * 60_000;

/**
 * The request's deadline from its `timeout` header: milliseconds (`1500`), or with a unit (`1.5s`, `250ms`).
 * Absent: the configured default. Capped at 10 minutes.
 */
export function deadlineMs(header: string | string[] | undefined, defaultMs: number): number {
  if (header === undefined) return defaultMs;
  const value = Array.isArray(header) ? header[0]! : header;
  let ms: number;
  try {
    ms = parseDuration(value);
  } catch {
    throw new GpumuxError(
      'INVALID_PARAMETER',
      `invalid timeout header "${value}" (milliseconds, or e.g. 2s)`,
    );
  }
  if (!(ms > 0)) throw new GpumuxError('INVALID_PARAMETER', 'timeout must be positive');
  return Math.min(ms, MAX_DEADLINE_MS);
}
