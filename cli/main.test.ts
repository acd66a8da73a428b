import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const HERE = path.dirname(fileURLToPath(import.meta.url));

describe('gpumux (the program)', () => {
  it('--version prints the package version', () => {
    const { version } = JSON.parse(readFileSync(path.join(HERE, '..', 'package.json'), 'utf8')) as {
      version: string;
    };
    const out = execFileSync(process.execPath, ['--import', 'tsx', path.join(HERE, 'main.ts'), '--version'], {
      encoding: 'utf8',
    });
    expect(out.trim()).toBe(version);
  });
});
