import { readFileSync } from 'node:fs';
import { formatBytes } from '../../../common/bytes.js';

/**
 * /ui/app.js: the page's script (app.js, a real file beside this one — copied to dist/ by the build) with
 * common/bytes.ts's `formatBytes` in front, so the page and the CLI format sizes one way.
 */
export const APP_JS =
  `var formatBytes = ${formatBytes.toString()};\n` +
  readFileSync(new URL('./app.js', import.meta.url), 'utf8');
