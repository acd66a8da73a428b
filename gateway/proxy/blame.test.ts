import { describe, expect, it } from 'vitest';
import { createLogger } from '../../common/log.js';
import { record, statsFor } from '../../test/gateway/fixtures.js';
import { createOutlierDetector } from '../inventory/outlier.js';
import type { ReplicaRecord } from '../inventory/records.js';
import { createBlame } from './blame.js';

function setup() {
  const r = record('a', statsFor({ ewmaServiceSeconds: 0.02 }));
  const peers = [r, record('b', statsFor())];
  const outliers = createOutlierDetector({
    consecutiveFailures: 100,
    baseMs: 1000,
    maxMs: 1000,
    maxEjectionShare: 0.5,
    peersOf: () => peers,
    clock: { now: () => 0 },
    logger: createLogger({}, () => undefined),
  });
  const latencies: number[] = [];
  const blame = createBlame({
    inventory: { outliers, recordLatency: (_r: ReplicaRecord, s: number) => void latencies.push(s) },
    latencyMultiple: 5,
    minChargedDeadlineMs: 250,
  });
  return { r, blame, latencies, failures: () => r.outlier.consecutiveFailures };
}

describe('blame', () => {
  it('charges 5xx, passes 4xx as answers, and leaves 429 alone', () => {
    const { r, blame, latencies, failures } = setup();
    blame.answered(r, 500, 0.01);
    blame.answered(r, 503, 0.01);
    expect(failures()).toBe(2);
    blame.answered(r, 429, 0.01);
    expect(failures()).toBe(2);
    blame.answered(r, 413, 0.01);
    expect(failures()).toBe(0);
    expect(latencies).toEqual([]); // only successful answers feed the latency EWMA
    blame.answered(r, 200, 0.03);
    expect(latencies).toEqual([0.03]);
  });

  it('charges a deadline only past what the replica normally needs', () => {
    const { r, blame, failures } = setup();
    blame.expired(r, 0.005); // a 5 ms deadline: the client's choice
    blame.expired(r, 0.2); // under the 250 ms floor (5 × 20 ms = 100 ms)
    expect(failures()).toBe(0);
    blame.expired(r, 0.3);
    expect(failures()).toBe(1);
    r.traffic.ewmaSeconds = 0.1; // it normally needs 100 ms: 5 × = 500 ms
    blame.expired(r, 0.3);
    expect(failures()).toBe(1);
  });

  it('does not charge a connection cut while the body was still being written', () => {
    const { r, blame, failures } = setup();
    blame.connectionFailed(r, true);
    expect(failures()).toBe(0);
    blame.connectionFailed(r, false);
    expect(failures()).toBe(1);
  });
});
