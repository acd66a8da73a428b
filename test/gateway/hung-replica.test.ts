import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { drawImage } from '../helpers/images.js';
import { closedLoop, quantile } from '../helpers/closed-loop.js';
import { startReplica, type ReplicaProcess } from '../helpers/replica-process.js';
import { gatewayFor, waitFor } from './gateway-harness.js';

/**
 * Issue #19 item 3: a hung replica costs a request little. Two real replica processes (models/shapes) behind
 * a real gateway, four closed-loop clients; one replica SIGSTOPped for 10 s (it still accepts TCP: only a
 * timeout can tell), then SIGCONT.
 */
const PER_TRY_MAX_MS = 2000;
/** One normal service time through the gateway on a loaded 2-core VM (shapes runs in ~10–50 ms). */
const NORMAL_MS = 1500;
const STOPPED_MS = 10_000;

let a: ReplicaProcess;
let b: ReplicaProcess;
let gateway: Awaited<ReturnType<typeof gatewayFor>> | undefined;

beforeAll(async () => {
  const started = await Promise.all(['a', 'b'].map((id) => startReplica({ args: ['--replica-id', id] })));
  [a, b] = started as [ReplicaProcess, ReplicaProcess];
}, 90_000);

afterEach(async () => {
  for (const r of [a, b]) r?.process.kill('SIGCONT');
  await gateway?.close();
  gateway = undefined;
});

afterAll(async () => {
  await Promise.all([a, b].map((r) => r?.stop('SIGKILL')));
});

const endpoints = () => [
  { id: 'a', url: a.url },
  { id: 'b', url: b.url },
];

async function metric(adminUrl: string, pattern: RegExp): Promise<number> {
  const m = pattern.exec(await (await fetch(`${adminUrl}/metrics`)).text());
  return m ? Number(m[1]) : 0;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function framesTotal(r: ReplicaProcess): Promise<number> {
  return ((await (await fetch(`${r.url}/v1/stats`)).json()) as { framesTotal: number }).framesTotal;
}

describe('a hung replica behind the gateway (real processes)', () => {
  it('no request fails or waits past the per-try timeout + a service time; the replica leaves and returns', async () => {
    gateway = await gatewayFor(endpoints(), {
      config: {
        pollInterval: '500ms',
        timeout: '30s',
        retries: { perTryTimeout: { min: '1s', max: `${PER_TRY_MAX_MS}ms` } },
      },
    });
    const gw = gateway;
    const routable = async (id: string): Promise<boolean> => {
      const view = await gw.clusterView();
      const r = view.gpus.flatMap((g) => g.replicas).find((x) => x.id === id);
      return r !== undefined && r.state === 'ready' && !r.ejected;
    };
    const image = await drawImage({
      width: 320,
      height: 240,
      rects: [{ box: [20, 30, 120, 110], color: 'red' }],
      format: 'jpeg',
    });
    const load = closedLoop(4, async () => {
      const res = await fetch(`${gw.url}/v1/models/shapes/detect`, {
        method: 'POST',
        body: image,
        headers: { 'content-type': 'image/jpeg' },
      });
      await res.arrayBuffer();
      return res.status;
    });
    await sleep(2000);

    a.process.kill('SIGSTOP');
    const stoppedAt = performance.now();
    await waitFor(async () => !(await routable('a')), 5000, 50);
    const leftAfterMs = performance.now() - stoppedAt;
    await sleep(Math.max(0, STOPPED_MS - (performance.now() - stoppedAt)));

    a.process.kill('SIGCONT');
    const continuedAt = performance.now();
    await waitFor(() => routable('a'), 8000, 50);
    const returnedAfterMs = performance.now() - continuedAt;
    const framesBack = await framesTotal(a);
    await sleep(3000);
    const samples = await load.stop();
    const servedAfterReturn = (await framesTotal(a)) - framesBack;

    const durations = samples.map((s) => s.durationMs);
    const failed = samples.filter((s) => s.outcome !== 200);
    const worst = Math.max(...durations);
    console.log(
      `hung replica: ${samples.length} requests, ${failed.length} failed, worst ${worst.toFixed(0)} ms, ` +
        `p99 ${quantile(durations, 0.99).toFixed(0)} ms, p50 ${quantile(durations, 0.5).toFixed(0)} ms; ` +
        `left routing after ${leftAfterMs.toFixed(0)} ms, back ${returnedAfterMs.toFixed(0)} ms after SIGCONT, ` +
        `then served ${servedAfterReturn} frames`,
    );
    expect(failed).toEqual([]);
    expect(worst).toBeLessThan(PER_TRY_MAX_MS + NORMAL_MS);
    expect(leftAfterMs).toBeLessThan(4000);
    expect(returnedAfterMs).toBeLessThan(6000);
    expect(servedAfterReturn).toBeGreaterThan(0);
    const metrics = await (await fetch(`${gw.adminUrl}/metrics`)).text();
    expect(metrics).toMatch(/gpumux_gateway_per_try_timeouts_total\{model="shapes"\} [1-9]/);
    expect(metrics).toMatch(/gpumux_gateway_retries_total\{model="shapes",reason="per-try-timeout"\} [1-9]/);
  }, 120_000);

  it('a whole-cluster stall: retries stay within the budget, and every request is answered once it ends', async () => {
    const budget = { ratio: 0.2, min: 3, window: '60s' };
    gateway = await gatewayFor(endpoints(), {
      config: {
        pollInterval: '500ms',
        retries: { perTryTimeout: { min: '500ms', max: '500ms' }, budget },
      },
    });
    const gw = gateway;
    const image = await drawImage({ width: 64, height: 64, rects: [], format: 'jpeg' });
    // Both replicas stop; twelve requests reach them before the polls notice (capacity: 16 each).
    a.process.kill('SIGSTOP');
    b.process.kill('SIGSTOP');
    const requests = 12;
    const answers = Array.from({ length: requests }, () =>
      fetch(`${gw.url}/v1/models/shapes/detect`, {
        method: 'POST',
        body: image,
        headers: { 'content-type': 'image/jpeg' },
      }).then(
        (r) => r.status,
        (e: unknown) => String(e),
      ),
    );
    await sleep(2500); // every first try and every retry is past its 500 ms per-try timeout
    a.process.kill('SIGCONT');
    b.process.kill('SIGCONT');
    expect(await Promise.all(answers)).toEqual(new Array(requests).fill(200));

    const retries = await metric(
      gw.adminUrl,
      /gpumux_gateway_retries_total\{model="shapes",reason="per-try-timeout"\} (\d+)/,
    );
    const timeouts = await metric(
      gw.adminUrl,
      /gpumux_gateway_per_try_timeouts_total\{model="shapes"\} (\d+)/,
    );
    const exhausted = await metric(
      gw.adminUrl,
      /gpumux_gateway_retry_budget_exhausted_total\{model="shapes"\} (\d+)/,
    );
    const allowance = Math.max(budget.min, Math.floor(budget.ratio * requests));
    console.log(
      `cluster stall: ${requests} requests, ${timeouts} per-try timeouts, ${retries} retries (budget ${allowance}), ` +
        `${exhausted} refused by the budget`,
    );
    // Without a budget every request would have been tried on both replicas (12 extra tries). Requests
    // whose other replica was already ejected or marked unreachable wanted no retry.
    expect(retries).toBeLessThanOrEqual(allowance);
    expect(retries).toBeGreaterThan(0);
    expect(exhausted).toBeGreaterThan(0);
    expect(timeouts).toBeGreaterThanOrEqual(requests);
  }, 60_000);
});
