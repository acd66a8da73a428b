import { readdirSync, readFileSync } from 'node:fs';
import { formatBytes } from '../../../common/bytes.js';

/**
 * The operator page's script as browser modules, served as /ui/<name>.js: every `.js` in browser/ (real
 * files beside this one — copied to dist/ by the build), read once at start, and `format-bytes.js`, made
 * from common/bytes.ts's `formatBytes` so the page and the CLI write sizes one way. Nothing else is served.
 */
const dir = new URL('./browser/', import.meta.url);

export const BROWSER_MODULES: ReadonlyMap<string, string> = new Map([
  ...readdirSync(dir)
    .filter((f) => f.endsWith('.js'))
    .sort()
    .map((f): [string, string] => [f, readFileSync(new URL(f, dir), 'utf8')]),
  ['format-bytes.js', `export const formatBytes = ${formatBytes.toString()};\n`],
]);
