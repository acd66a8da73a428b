import { InvalidArgumentError } from 'commander';

/** Commander argument parser for a listening port; 0 asks the OS for any free one. */
export function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new InvalidArgumentError('expected a port 0..65535 (0 = any free port)');
  return n;
}

/** Commander argument parser for `--max-per-gpu`. */
export function replicasPerGpu(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isInteger(n) || n < 0)
    throw new InvalidArgumentError('expected a whole number ≥ 0 (0 = no cap)');
  return n;
}

function wholeAbove0(value: string, message: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isInteger(n) || n <= 0) throw new InvalidArgumentError(message);
  return n;
}

/** Commander argument parser for a whole number > 0 (`--max-batch`, `--threads`, …). */
export const positiveInt = (value: string): number => wholeAbove0(value, 'expected a whole number > 0');

/** Commander argument parser for a duration in whole seconds > 0 (`--warmup-budget`, `--ready-timeout`). */
export const wholeSeconds = (value: string): number =>
  wholeAbove0(value, 'expected a whole number of seconds > 0');
