import { describe, expect, it } from 'vitest';
import { createClientLimit } from './client-limit.js';

describe('createClientLimit', () => {
  it('admits up to the cap per client, refuses beyond with 429 + Retry-After, and counts clients apart', () => {
    const limit = createClientLimit(2);
    expect(limit.enter('a')).toBeNull();
    expect(limit.enter('a')).toBeNull();
    const refused = limit.enter('a');
    expect(refused).toMatchObject({ code: 'CLIENT_LIMIT', status: 429, retryAfterSeconds: 1 });
    expect(limit.enter('b')).toBeNull();
    limit.leave('a');
    expect(limit.enter('a')).toBeNull();
  });
});
