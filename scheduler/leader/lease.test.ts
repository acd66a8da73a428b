import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../common/log.js';
import { startKubeApiServer, type KubeApiServer } from '../../test/helpers/kube-api-server.js';
import { loadKubeClient } from '../../common/kube-client.js';
import { createLeaseElector, type LeaseElectorOptions } from './lease.js';

const { CoordinationV1Api } = await loadKubeClient();

describe('lease elector', () => {
  let api: KubeApiServer;
  let clock = 1_000_000;
  beforeEach(async () => {
    api = await startKubeApiServer();
    clock = 1_000_000;
  });
  afterEach(() => api.close());

  const elector = (identity: string, over: Partial<LeaseElectorOptions> = {}) =>
    createLeaseElector({
      coordination: api.kubeConfig('ns').makeApiClient(CoordinationV1Api),
      namespace: 'ns',
      name: 'sched',
      identity,
      leaseDurationMs: 15_000,
      renewDeadlineMs: 10_000,
      retryPeriodMs: 2_000,
      logger: createLogger({}, () => undefined),
      now: () => clock,
      ...over,
    });

  it('one holder at a time; the other takes over only after the lease expires', async () => {
    const a = elector('a');
    const b = elector('b');
    expect(await a.tryAcquireOrRenew()).toBe(true);
    expect(await b.tryAcquireOrRenew()).toBe(false);
    clock += 10_000;
    expect(await a.tryAcquireOrRenew()).toBe(true); // renewed
    clock += 1_000;
    expect(await b.tryAcquireOrRenew()).toBe(false); // b sees the renewal: its own clock starts again
    clock += 14_000;
    expect(await b.tryAcquireOrRenew()).toBe(false); // unchanged for 14 s as b saw it: still valid
    clock += 2_000;
    expect(await b.tryAcquireOrRenew()).toBe(true); // unchanged for 16 s: expired, b takes it
    expect(a.isLeader()).toBe(false); // a has not renewed for longer than renewDeadline
    expect(await a.tryAcquireOrRenew()).toBe(false);
    const lease = api.get('leases', 'ns', 'sched')!;
    expect(lease.spec).toMatchObject({ holderIdentity: 'b', leaseTransitions: 1, leaseDurationSeconds: 15 });
  });

  it('clock skew: a holder whose wall clock is an hour behind keeps the lease while it renews', async () => {
    // Elapsed time is the same everywhere (the monotonic clock); a's wall clock, written into renewTime, is an
    // hour behind b's. Judged by renewTime against b's wall clock, a's lease would look long expired.
    let elapsed = 0;
    const a = elector('a', { now: () => clock - 3_600_000 + elapsed, monotonic: () => elapsed });
    const b = elector('b', { now: () => clock + elapsed, monotonic: () => elapsed });
    expect(await a.tryAcquireOrRenew()).toBe(true);
    for (let i = 0; i < 10; i++) {
      elapsed += 2_000;
      expect(await a.tryAcquireOrRenew()).toBe(true);
      expect(await b.tryAcquireOrRenew()).toBe(false);
      expect(a.isLeader()).toBe(true);
    }
    // a stops renewing (without releasing): b takes over once the record stood still for leaseDuration.
    elapsed += 14_000;
    expect(await b.tryAcquireOrRenew()).toBe(false);
    elapsed += 2_000;
    expect(await b.tryAcquireOrRenew()).toBe(true);
  });

  it('a racing update with a stale resourceVersion loses (409) and stays follower', async () => {
    const a = elector('a');
    const b = elector('b');
    expect(await a.tryAcquireOrRenew()).toBe(true);
    clock += 20_000; // expired for both to grab
    const [ra, rb] = await Promise.all([a.tryAcquireOrRenew(), b.tryAcquireOrRenew()]);
    expect([ra, rb].filter(Boolean)).toHaveLength(1);
  });

  it('stop() during an in-flight renewal still releases the lease it renewed', async () => {
    const a = elector('a');
    expect(await a.tryAcquireOrRenew()).toBe(true);
    clock += 2_000;
    const renewing = a.tryAcquireOrRenew(); // in flight when stop() begins
    await a.stop();
    expect(await renewing).toBe(false);
    expect(api.get('leases', 'ns', 'sched')?.spec).toMatchObject({ holderIdentity: '' });
  });

  it('stop() releases the lease so another can lead at once', async () => {
    const a = elector('a');
    const b = elector('b');
    expect(await a.tryAcquireOrRenew()).toBe(true);
    await a.stop();
    clock += 1_500; // released leases last 1 s
    expect(await b.tryAcquireOrRenew()).toBe(true);
  });
});
