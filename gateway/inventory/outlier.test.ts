import { describe, expect, it } from 'vitest';
import { createLogger } from '../../common/log.js';
import { record, statsFor } from '../../test/gateway/fixtures.js';
import { createOutlierDetector } from './outlier.js';
import { isEjected } from './outlier-state.js';
import type { ReplicaRecord } from './records.js';

const logger = createLogger({}, () => undefined);

function detector(peers: ReplicaRecord[], maxEjectionShare = 0.5, onEject?: (r: ReplicaRecord) => void) {
  let now = 1000;
  const d = createOutlierDetector({
    consecutiveFailures: 2,
    baseMs: 1000,
    maxMs: 10_000,
    maxEjectionShare,
    peersOf: () => peers,
    clock: { now: () => now },
    logger,
    ...(onEject && { onEject }),
  });
  return { d, advance: (ms: number) => (now += ms) };
}

const replicas = (n: number) => Array.from({ length: n }, (_, i) => record(`r${i}`, statsFor()));

describe('outlier detection', () => {
  it('ejects after consecutive failures only: an answer in between ends the streak', () => {
    const rs = replicas(2);
    const { d } = detector(rs);
    d.failure(rs[0]!, 'status 500');
    d.success(rs[0]!);
    d.failure(rs[0]!, 'status 500');
    expect(isEjected(rs[0]!)).toBe(false);
    d.failure(rs[0]!, 'status 500');
    expect(isEjected(rs[0]!)).toBe(true);
  });

  it('never ejects the only replica of a model, and at most one of two', () => {
    const [only] = replicas(1);
    const single = detector([only!]);
    for (let i = 0; i < 10; i++) single.d.failure(only!, 'connection');
    expect(isEjected(only!)).toBe(false);
    expect(only!.outlier.consecutiveFailures).toBe(10);

    const two = replicas(2);
    const { d } = detector(two, 1); // even a share of 1 keeps the last one
    for (const r of two) for (let i = 0; i < 3; i++) d.failure(r, 'connection');
    expect(two.map(isEjected)).toEqual([true, false]);
  });

  it('caps ejections at the share of replicas that are up, rounded down', () => {
    const four = replicas(4);
    const ejected: string[] = [];
    const { d } = detector(four, 0.5, (r) => ejected.push(r.endpoint.id));
    for (const r of four) for (let i = 0; i < 2; i++) d.failure(r, 'status 503');
    expect(ejected).toEqual(['r0', 'r1']);
    // A replica that is down (its poll failed) is not in the population: 3 up → 1 may be out.
    const three = replicas(4);
    three[3]!.measurement.reachable = false;
    const other = detector(three, 0.5);
    for (const r of three.slice(0, 3)) for (let i = 0; i < 2; i++) other.d.failure(r, 'status 503');
    expect(three.map(isEjected)).toEqual([true, false, false, false]);
  });

  it('re-admits on a ready poll after the back-off, which doubles per ejection', () => {
    const rs = replicas(2);
    const { d, advance } = detector(rs);
    const r = rs[0]!;
    const eject = () => {
      d.failure(r, 'connection');
      d.failure(r, 'connection');
    };
    eject();
    expect(r.outlier.ejectedUntil).toBe(2000);
    d.polled(r, true);
    expect(isEjected(r)).toBe(true); // back-off not over
    advance(1000);
    d.polled(r, false);
    expect(isEjected(r)).toBe(true); // over, but not ready
    d.polled(r, true);
    expect(isEjected(r)).toBe(false);
    eject();
    expect(r.outlier.ejectedUntil).toBe(2000 + 2000);
  });
});
