import { describe, expect, it } from 'vitest';
import { contextFor, record, statsFor } from '../../test/gateway/fixtures.js';
import type { ReplicaRecord } from '../inventory/records.js';
import { createRouter } from './router.js';

const weights = { outstanding: 3, contention: 2, latency: 1, headroom: 1 };
const router = createRouter({ weights, capacityOf: () => 4 });

function pick(all: ReplicaRecord[], opts: Parameters<typeof contextFor>[1] = {}) {
  return router.route(all, contextFor(all, opts));
}

describe('router', () => {
  it('two replicas on GPU 0, one on GPU 1, one request in flight on GPU 0: the next goes to GPU 1', () => {
    const a = record('a', statsFor({ gpu: ['n', 0] }), { inFlight: 1 });
    const b = record('b', statsFor({ gpu: ['n', 0] }));
    const c = record('c', statsFor({ gpu: ['n', 1] }));
    const result = pick([a, b, c]);
    expect(result).toEqual({ kind: 'replica', replica: c });
  });

  it('with nothing in flight, sends the first request to the GPU with more headroom', () => {
    const a = record('a', statsFor({ gpu: ['n', 0], usedBytes: 4 * 1024 ** 3 }));
    const b = record('b', statsFor({ gpu: ['n', 0], usedBytes: 4 * 1024 ** 3 }));
    const c = record('c', statsFor({ gpu: ['n', 1] }));
    expect(pick([a, b, c])).toEqual({ kind: 'replica', replica: c });
  });

  it('answers MODEL_NOT_FOUND, VERSION_NOT_FOUND and NO_REPLICA', () => {
    const warming = record('w', statsFor({ state: 'warming', ready: false }));
    expect(pick([warming], { model: 'nope' })).toEqual({ kind: 'unavailable', code: 'MODEL_NOT_FOUND' });
    expect(pick([warming], { version: '9' })).toEqual({ kind: 'unavailable', code: 'VERSION_NOT_FOUND' });
    expect(pick([warming])).toEqual({ kind: 'unavailable', code: 'NO_REPLICA' });
  });

  it('reports saturation when every eligible replica is at capacity', () => {
    const a = record('a', statsFor(), { inFlight: 4 });
    const b = record('b', statsFor({ inFlight: 4 }));
    expect(pick([a, b])).toEqual({ kind: 'saturated' });
  });

  it('skips excluded replicas (retries go elsewhere)', () => {
    const a = record('a', statsFor());
    const b = record('b', statsFor());
    const all = [a, b];
    expect(router.route(all, contextFor(all), new Set([a]))).toEqual({ kind: 'replica', replica: b });
    expect(router.route(all, contextFor(all), new Set([a, b]))).toEqual({
      kind: 'unavailable',
      code: 'NO_REPLICA',
    });
  });

  it('weights decide between load and headroom', () => {
    const loadedRoomy = record('a', statsFor({ gpu: ['n', 0] }), { inFlight: 1 });
    const idleTight = record('b', statsFor({ gpu: ['n', 1], usedBytes: 20 * 1024 ** 3 }));
    const all = [loadedRoomy, idleTight];
    expect(pick(all)).toEqual({ kind: 'replica', replica: idleTight });
    const headroomOnly = createRouter({
      weights: { outstanding: 0, contention: 0, latency: 0, headroom: 1 },
      capacityOf: () => 4,
    });
    expect(headroomOnly.route(all, contextFor(all))).toEqual({ kind: 'replica', replica: loadedRoomy });
  });
});
