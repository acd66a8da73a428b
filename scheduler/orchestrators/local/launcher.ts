import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * How to start `gpumux <args>` as a child process, the same way test/helpers/replica-process.ts does:
 * from source (`node --import tsx <repo>/cli/main.ts`) when this code runs from TypeScript, from the build
 * (`node <repo>/dist/cli/main.js`) when it runs compiled.
 */
export interface Launcher {
  command: string;
  args: string[];
  cwd: string;
}

export function gpumuxLauncher(fromUrl: string = import.meta.url): Launcher {
  const here = path.dirname(fileURLToPath(fromUrl));
  // scheduler/orchestrators/local → repo root (source) or dist root (compiled).
  const root = path.resolve(here, '..', '..', '..');
  if (fromUrl.endsWith('.ts')) {
    return {
      command: process.execPath,
      args: ['--import', 'tsx', path.join(root, 'cli', 'main.ts')],
      cwd: root,
    };
  }
  const repo = path.basename(root) === 'dist' ? path.dirname(root) : root;
  const main = path.join(root, 'cli', 'main.js');
  return {
    command: process.execPath,
    args: [existsSync(main) ? main : path.join(repo, 'dist', 'cli', 'main.js')],
    cwd: repo,
  };
}
