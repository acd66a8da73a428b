import { describe, expect, it } from 'vitest';
import { contextFor, record, statsFor } from '../../../test/gateway/fixtures.js';
import { notEjectedFilter } from './not-ejected.js';

describe('notEjectedFilter', () => {
  it('drops ejected replicas', () => {
    const ok = record('ok', statsFor(), {}, { consecutiveFailures: 2 });
    const ejected = record('ejected', statsFor(), {}, { ejectedUntil: 1000 });
    expect(notEjectedFilter.filter([ok, ejected], contextFor([ok, ejected]))).toEqual([ok]);
  });
});
