import { describe, expect, it } from 'vitest';
import { contextFor, record, statsFor } from '../../../test/gateway/fixtures.js';
import { readyFilter } from './ready.js';

describe('readyFilter', () => {
  it('keeps reachable replicas reporting ready, drops the rest', () => {
    const ok = record('ok', statsFor());
    const warming = record('warming', statsFor({ state: 'warming', ready: false }));
    const unreachable = record('gone', statsFor());
    unreachable.measurement.reachable = false;
    const unknown = record('unknown', null);
    const all = [ok, warming, unreachable, unknown];
    expect(readyFilter.filter(all, contextFor(all))).toEqual([ok]);
  });
});
