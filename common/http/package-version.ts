import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * gpumux's version from the nearest package.json named gpumux, found by walking up from this file (it sits at
 * a different depth when run from source and when compiled into dist/). "unknown" when not found.
 */
export function packageVersion(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++, dir = path.dirname(dir)) {
    const file = path.join(dir, 'package.json');
    if (!existsSync(file)) continue;
    try {
      const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'gpumux' && pkg.version) return pkg.version;
    } catch {
      // not ours or unreadable: keep walking
    }
  }
  return 'unknown';
}
