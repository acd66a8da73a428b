import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { processPeakRssBytes } from '../helpers/replica-process.js';
import { startFakeReplica, type FakeReplica } from './fake-replica.js';
import { startGatewayProcess, type GatewayProcess } from './gateway-process.js';
import { waitFor } from './gateway-harness.js';

/**
 * Overload at many times capacity against the CLI gateway process: capacity is 2 replicas × 2 in flight + a
 * queue of 8; 200 concurrent clients send 100 KB bodies for a bounded number of requests.
 */
let replicas: FakeReplica[] = [];
let gateway: GatewayProcess;
const dispatcher = new Agent({ connections: 256 });

beforeAll(async () => {
  replicas = await Promise.all(['a', 'b'].map((id) => startFakeReplica({ id, delayMs: 20 })));
  const dir = mkdtempSync(path.join(tmpdir(), 'gpumux-gw-'));
  const config = path.join(dir, 'gateway.yaml');
  // The stand-in replicas share this process with 200 load clients; the default poll interval (1 s, so a 2 s
  // stats timeout) keeps their /v1/stats answers from timing out while the event loop is saturated.
  writeFileSync(config, 'limits:\n  maxInFlightPerReplica: 2\n  queuePerModel: 8\n');
  gateway = await startGatewayProcess(
    ['--config', config, ...replicas.flatMap((r) => ['--replica', r.url])],
    { GPUMUX_LOG_LEVEL: 'info' },
  );
  await waitFor(async () => (await fetch(`${gateway.url}/v2/health/ready`)).status === 200, 10_000);
});

afterAll(async () => {
  await gateway?.stop();
  await Promise.all(replicas.map((r) => r.close()));
  await dispatcher.close();
});

describe('overload', () => {
  it('answers 429 with Retry-After beyond the queue, never crashes, keeps its memory bounded', async () => {
    const body = Buffer.alloc(100_000, 7);
    const counts = new Map<number, number>();
    let retryAfterMissing = 0;
    let sent = 0;
    const total = 3000;
    const worker = async () => {
      while (sent < total) {
        sent++;
        const res = await request(`${gateway.url}/v2/models/shapes/infer`, {
          method: 'POST',
          body,
          dispatcher,
        });
        await res.body.dump();
        counts.set(res.statusCode, (counts.get(res.statusCode) ?? 0) + 1);
        if (res.statusCode === 429 && !res.headers['retry-after']) retryAfterMissing++;
      }
    };
    await Promise.all(Array.from({ length: 200 }, worker));
    const ok = counts.get(200) ?? 0;
    const refused = counts.get(429) ?? 0;
    expect(Object.fromEntries(counts)).toEqual({ 200: ok, 429: refused });
    expect(ok).toBeGreaterThan(0);
    expect(refused).toBeGreaterThan(total / 2);
    expect(retryAfterMissing).toBe(0);
    // Never more than the configured in-flight per replica reached a replica at once.
    expect(Math.max(...replicas.map((r) => r.maxInFlight()))).toBe(2);
    expect((await fetch(`${gateway.url}/v2/health/live`)).status).toBe(200);
    const peak = await processPeakRssBytes(gateway.process.pid!);
    expect(peak).not.toBeNull();
    console.info(
      `overload: ${ok} × 200, ${refused} × 429, gateway peak RSS ${(peak! / 1024 ** 2).toFixed(0)} MiB`,
    );
    // Bodies are held only for admitted or queued requests: 200 clients × 100 KB would be 20 MB anyway.
    expect(peak!).toBeLessThan(400 * 1024 ** 2);
    const metrics = await (await fetch(`${gateway.adminUrl}/metrics`)).text();
    expect(metrics).toMatch(/gpumux_gateway_request_duration_seconds_count\{model="shapes",code="429"\} \d+/);
  }, 120_000);
});
