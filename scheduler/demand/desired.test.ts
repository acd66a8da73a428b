import { describe, expect, it } from 'vitest';
import { createLogger } from '../../common/log.js';
import type { Observation } from '../observation.js';
import { modelSet, type SchedulerModel } from '../model-set.js';
import type { ClientDemand } from './client-demand.js';
import { createDesiredCounts, versionShare } from './desired.js';

const model = (over: Partial<SchedulerModel> = {}): SchedulerModel => ({
  name: 'codetr',
  version: '1',
  declaredBytes: 1,
  manifest: '/m',
  minReplicas: 1,
  maxReplicas: 10,
  targetInFlightPerReplica: 2,
  ...over,
});

const observed = (load: Record<string, { inFlight: number; ready: number }>): Observation => ({
  load: new Map(Object.entries(load)),
  utilization: new Map(),
  modelBusy: new Map(),
  utilizationSources: [],
});

const quiet = createLogger({}, () => undefined);
const DEMAND = { intervalMs: 1000, scaleUpCooldownMs: 0, scaleDownCooldownMs: 0 };

describe('desired counts', () => {
  it('start at initialReplicas within [min, max]; without demand settings they stay there', async () => {
    const set = modelSet([
      model({ name: 'a', initialReplicas: 3 }),
      model({ name: 'b', initialReplicas: 30 }),
      model({ name: 'c', minReplicas: 2 }),
    ]);
    const desired = createDesiredCounts({ set, demand: null, logger: quiet, now: () => 0 });
    expect([...desired.counts]).toEqual([
      ['a', 3],
      ['b', 10],
      ['c', 2],
    ]);
    await desired.update(observed({ a: { inFlight: 100, ready: 3 } }));
    expect(desired.counts.get('a')).toBe(3);
  });

  it('follow in-flight and the gateway queue, at most every intervalMs', async () => {
    let t = 0;
    const queue = new Map<string, ClientDemand>([['codetr', { queued: 4, p95Seconds: null }]]);
    const desired = createDesiredCounts({
      set: modelSet([model()]),
      demand: DEMAND,
      clientDemand: () => Promise.resolve(queue),
      logger: quiet,
      now: () => t,
    });
    await desired.update(observed({ codetr: { inFlight: 4, ready: 1 } }));
    expect(desired.counts.get('codetr')).toBe(4); // (4 in flight + 4 queued) / 2
    await desired.update(observed({ codetr: { inFlight: 20, ready: 4 } }));
    expect(desired.counts.get('codetr')).toBe(4); // within intervalMs: not read
    t += 1000;
    await desired.update(observed({ codetr: { inFlight: 20, ready: 4 } }));
    expect(desired.counts.get('codetr')).toBe(10);
  });

  it('a failing gateway leaves the replicas as the only signal', async () => {
    const logs: string[] = [];
    const desired = createDesiredCounts({
      set: modelSet([model()]),
      demand: DEMAND,
      clientDemand: () => Promise.reject(new Error('down')),
      logger: createLogger({}, (line) => logs.push(line)),
      now: () => 0,
    });
    await desired.update(observed({ codetr: { inFlight: 6, ready: 1 } }));
    expect(desired.counts.get('codetr')).toBe(3);
    expect(logs.join('\n')).toMatch(/client demand unavailable/);
  });
});

describe('versionShare', () => {
  const c: ClientDemand = { queued: 40, p95Seconds: 0.5 };

  it('a single version takes the whole model demand', () => {
    expect(versionShare(modelSet([model()]), model(), c)).toBe(c);
  });

  it('splits by trafficWeight when every version has one, rounding up', () => {
    const v1 = model({ trafficWeight: 90 });
    const v2 = model({ version: '2', trafficWeight: 10 });
    const set = modelSet([v1, v2]);
    expect(versionShare(set, v1, c)).toEqual({ queued: 36, p95Seconds: 0.5 });
    expect(versionShare(set, v2, { queued: 3, p95Seconds: null })).toEqual({ queued: 1, p95Seconds: null });
  });

  it("else by the gateway's split, else equally", () => {
    const v1 = model();
    const v2 = model({ version: '2' });
    const set = modelSet([v1, v2]);
    const split = { ...c, versionShares: new Map([['2', 0.25]]) };
    expect(versionShare(set, v1, split)?.queued).toBe(0); // not in the gateway's split
    expect(versionShare(set, v2, split)?.queued).toBe(40);
    expect(versionShare(set, v1, c)?.queued).toBe(20);
  });
});
