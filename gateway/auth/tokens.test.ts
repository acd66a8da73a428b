import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadTokens } from './tokens.js';

describe('loadTokens', () => {
  it('reads one token per line (skipping blanks and comments) and a comma-separated env value', () => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'gpumux-tokens-')), 'tokens');
    writeFileSync(file, '# clients\nalpha\n\n  beta  \n');
    expect(loadTokens({ file, env: 'gamma, delta,' })).toEqual(['alpha', 'beta', 'gamma', 'delta']);
    expect(loadTokens({})).toEqual([]);
  });
});
