import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Repository root (this file lives in test/helpers). */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/**
 * Spawns `node --import tsx cli/main.ts <args...>` from the repository root — the CLI as users run it — with
 * stdout ignored and stderr (the structured JSON log) piped. GPUMUX_LOG_LEVEL defaults to `info`.
 */
export function spawnCli(args: string[], env: Record<string, string | undefined> = {}): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', path.join(REPO_ROOT, 'cli', 'main.ts'), ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, GPUMUX_LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
}
