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
    clock += 14_000;
    expect(await b.tryAcquireOrRenew()).toBe(false); // a renewed 14 s ago: still valid
    clock += 2_000;
    expect(await b.tryAcquireOrRenew()).toBe(true); // expired: b takes it
    expect(a.isLeader()).toBe(false); // a has not renewed for longer than renewDeadline
    expect(await a.tryAcquireOrRenew()).toBe(false);
    const lease = api.get('leases', 'ns', 'sched')!;
    expect(lease.spec).toMatchObject({ holderIdentity: 'b', leaseTransitions: 1, leaseDurationSeconds: 15 });
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
