import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * gpumux's version from its package.json, found by walking up from this file (it sits at a different depth
 * when run from source with tsx and when compiled into dist/). "unknown" when not found.
 */
export function gpumuxVersion(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const file = path.join(dir, 'package.json');
    if (existsSync(file)) {
      try {
        const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string };
        if (pkg.name === 'gpumux' && pkg.version) return pkg.version;
      } catch {
        // not ours or unreadable: keep walking
      }
    }
    dir = path.dirname(dir);
  }
  return 'unknown';
}
