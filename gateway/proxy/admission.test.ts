import { describe, expect, it } from 'vitest';
import { GpumuxError } from '../../common/errors.js';
import { contextFor, record, statsFor } from '../../test/gateway/fixtures.js';
import type { Inventory } from '../inventory/inventory.js';
import type { ReplicaRecord } from '../inventory/records.js';
import { createRouter } from '../routing/router.js';
import { createAdmission } from './admission.js';
import { Cancellation } from './cancellation.js';

function setup(records: ReplicaRecord[], queuePerModel = 1) {
  const ctx = contextFor(records);
  const inventory = { byModel: () => records } as unknown as Inventory;
  const router = createRouter({
    weights: { outstanding: 1, contention: 0, latency: 0, headroom: 0 },
    capacityOf: () => 1,
  });
  return { ctx, admission: createAdmission({ inventory, router, queuePerModel }) };
}

describe('admission', () => {
  it('takes a slot, queues when saturated, hands the slot over on release, 429s beyond the queue', async () => {
    const a = record('a', statsFor({ ewmaServiceSeconds: 2 }));
    const { ctx, admission } = setup([a]);
    const signal = new Cancellation();
    expect(await admission.acquire(ctx, signal)).toBe(a);
    expect(a.traffic.inFlight).toBe(1);
    const queued = admission.acquire(ctx, signal);
    expect(admission.queueDepth('shapes')).toBe(1);
    const refused = await admission.acquire(ctx, signal).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(GpumuxError);
    expect((refused as GpumuxError).code).toBe('OVERLOADED');
    // 2 s per request (the replica's reported service time) × (1 waiting + this one) on one replica.
    expect((refused as GpumuxError).retryAfterSeconds).toBe(4);
    admission.release(a);
    expect(await queued).toBe(a);
    expect(a.traffic.inFlight).toBe(1);
    expect(admission.queueDepth('shapes')).toBe(0);
  });

  it('a queued request leaves the queue when its signal aborts', async () => {
    const a = record('a', statsFor(), { inFlight: 1 });
    const { ctx, admission } = setup([a]);
    const cancel = new Cancellation();
    const queued = admission.acquire(ctx, cancel);
    cancel.cancel(true);
    await expect(queued).rejects.toMatchObject({ code: 'DEADLINE_EXCEEDED' });
    expect(admission.queueDepth('shapes')).toBe(0);
  });

  it('refusal() tells what acquire would refuse at once, without taking anything', async () => {
    const a = record('a', statsFor());
    const { ctx, admission } = setup([a], 1);
    expect(admission.refusal(ctx)).toBeNull(); // a free slot
    a.traffic.inFlight = 1;
    expect(admission.refusal(ctx)).toBeNull(); // saturated, room in the queue
    const queued = admission.acquire(ctx, new Cancellation());
    expect(admission.refusal(ctx)).toMatchObject({ code: 'OVERLOADED' });
    expect(a.traffic.inFlight).toBe(1);
    expect(admission.queueDepth('shapes')).toBe(1);
    admission.release(a);
    expect(await queued).toBe(a);
    expect(setup([]).admission.refusal(ctx)).toMatchObject({ code: 'MODEL_NOT_FOUND' });
  });

  it('rejects at once when no replica can ever serve', async () => {
    const { ctx, admission } = setup([]);
    await expect(admission.acquire(ctx, new Cancellation())).rejects.toMatchObject({
      code: 'MODEL_NOT_FOUND',
    });
  });
});
