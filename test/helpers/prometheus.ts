import { spawnSync } from 'node:child_process';

/**
 * Helpers for tests that read Prometheus text exposition: keep gpumux's own families, lint them with
 * promtool (Debian package `prometheus`), and read one sample's value.
 */

export const PROMTOOL = '/usr/bin/promtool';

/** Only families whose name starts with `prefix` (prom-client's default Node.js metrics are exempt from our lint). */
export function onlyFamilies(exposition: string, prefix = 'gpumux_'): string {
  const keep = (line: string): boolean => {
    const name = line.startsWith('#') ? line.split(' ')[2] : line.split(/[{ ]/)[0];
    return name?.startsWith(prefix) ?? false;
  };
  return exposition.split('\n').filter(keep).join('\n') + '\n';
}

/** Runs `promtool check metrics` on the text; returns its complaints ('' when clean) and exit status. */
export function promtoolCheck(exposition: string): { output: string; status: number | null } {
  const result = spawnSync(PROMTOOL, ['check', 'metrics'], { input: exposition, encoding: 'utf8' });
  if (result.error)
    throw new Error(`cannot run ${PROMTOOL} (Debian package "prometheus"): ${result.error.message}`);
  return { output: (result.stdout + result.stderr).trim(), status: result.status };
}

/**
 * The value of the sample `name{labels}` whose labels include every given pair; the sum over all matching
 * samples when several match (e.g. every `code` of a counter). 0 when none does.
 */
export function sampleValue(exposition: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of exposition.split('\n')) {
    if (line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)/.exec(line);
    if (!match || match[1] !== name) continue;
    const have = new Map<string, string>();
    for (const pair of (match[3] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g))
      have.set(pair[1]!, pair[2]!);
    if (Object.entries(labels).every(([k, v]) => have.get(k) === v)) sum += Number(match[4]);
  }
  return sum;
}
