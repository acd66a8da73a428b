import { readFileSync } from 'node:fs';

/**
 * Bearer tokens from a file (one per line; blank lines and `#` comments ignored) and/or a comma-separated
 * env value (GPUMUX_AUTH_TOKENS). An empty result means "no auth".
 */
export function loadTokens({ file, env }: { file?: string | undefined; env?: string | undefined }): string[] {
  const tokens: string[] = [];
  if (file) {
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      const t = line.trim();
      if (t !== '' && !t.startsWith('#')) tokens.push(t);
    }
  }
  if (env) for (const t of env.split(',')) if (t.trim() !== '') tokens.push(t.trim());
  return tokens;
}
