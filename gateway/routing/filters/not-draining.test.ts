import { describe, expect, it } from 'vitest';
import { contextFor, record, statsFor } from '../../../test/gateway/fixtures.js';
import { notDrainingFilter } from './not-draining.js';

describe('notDrainingFilter', () => {
  it('drops draining replicas even if they still say ready', () => {
    const ok = record('ok', statsFor());
    const draining = record('draining', statsFor({ state: 'draining', ready: true }));
    expect(notDrainingFilter.filter([ok, draining], contextFor([ok, draining]))).toEqual([ok]);
  });
});
