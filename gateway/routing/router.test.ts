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

  it('answers MODEL_NOT_FOUND, VERSION_NOT_FOUND and NO_REPLICA, naming the filter that left none', () => {
    const warming = record('w', statsFor({ state: 'warming', ready: false }));
    expect(pick([warming], { model: 'nope' })).toEqual({
      kind: 'unavailable',
      code: 'MODEL_NOT_FOUND',
      filter: 'serves-model',
    });
    expect(pick([warming], { version: '9' })).toEqual({
      kind: 'unavailable',
      code: 'VERSION_NOT_FOUND',
      filter: 'serves-model',
    });
    expect(pick([warming])).toEqual({ kind: 'unavailable', code: 'NO_REPLICA', filter: 'ready' });
    const ejected = record('e', statsFor(), {}, { ejectedUntil: 5 });
    expect(pick([ejected])).toEqual({ kind: 'unavailable', code: 'NO_REPLICA', filter: 'not-ejected' });
  });

  it("keeps each model's last routing failure (for /v1/cluster)", () => {
    const r = createRouter({ weights, capacityOf: () => 4 });
    const draining = record('d', statsFor({ state: 'draining', ready: true }));
    r.route([draining], { ...contextFor([draining]), now: 1234 });
    expect(r.lastFailures().get('shapes')).toEqual({ filter: 'not-draining', code: 'NO_REPLICA', at: 1234 });
  });

  it('refuses a weight for a scorer that does not exist', () => {
    expect(() => createRouter({ weights: { outstandng: 1 }, capacityOf: () => 4 })).toThrow(/outstandng/);
  });

  it('GPU contention alone decides: same load, latency and headroom, but the other GPU is busy', () => {
    // a is busy at capacity (not a candidate) on GPU 0; b (GPU 0) and c (GPU 1) are idle with equal headroom
    // (GPU 0: two 2 GiB footprints; GPU 1: one, plus 2 GiB used by others).
    const a = record('a', statsFor({ gpu: ['n', 0] }), { inFlight: 4 });
    const b = record('b', statsFor({ gpu: ['n', 0] }));
    const c = record('c', statsFor({ gpu: ['n', 1], usedBytes: 4 * 1024 ** 3 }));
    const ctx = contextFor([a, b, c]);
    expect(ctx.gpuOf(b)!.headroomBytes).toBe(ctx.gpuOf(c)!.headroomBytes);
    const firstOfTies = () => 0.99;
    const withContention = createRouter({ weights, capacityOf: () => 4, random: firstOfTies });
    expect(withContention.route([a, b, c], ctx)).toEqual({ kind: 'replica', replica: c });
    const without = createRouter({
      weights: { ...weights, contention: 0 },
      capacityOf: () => 4,
      random: firstOfTies,
    });
    expect(without.route([a, b, c], ctx)).toEqual({ kind: 'replica', replica: b });
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
      filter: 'already-tried',
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
