import { describe, expect, it } from 'vitest';
import { startFakeReplica, type FakeReplica } from './fake-replica.js';
import { closedAfterEach, gatewayFor, waitFor } from './gateway-harness.js';
import { startGatewayProcess } from './gateway-process.js';

const { defer } = closedAfterEach();

async function fake(id: string, delayMs: number): Promise<FakeReplica> {
  const f = await startFakeReplica({ id, delayMs });
  defer(() => f.close());
  return f;
}

const infer = (url: string) =>
  fetch(`${url}/v2/models/shapes/infer`, { method: 'POST', body: '{"inputs":[]}' });

describe('gateway shutdown', () => {
  it('close() reports not ready, lets an in-flight request finish, then stops', async () => {
    const a = await fake('a', 800);
    const gw = await gatewayFor([{ id: a.id, url: a.url }], {
      config: { shutdown: { notReadyDelay: 400, grace: 10_000 } },
    });
    defer(() => gw.close());
    const inFlight = infer(gw.url);
    await waitFor(() => a.received.length === 1);
    const closed = gw.close();
    // During the not-ready delay the listener is still open: probes see 503 DRAINING.
    const ready = await fetch(`${gw.url}/v2/health/ready`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toMatchObject({ code: 'DRAINING' });
    const res = await inFlight;
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ replica: 'a' });
    await closed;
    // The listener is closed: a new connection is refused.
    await expect(fetch(`${gw.url}/v2/health/live`)).rejects.toMatchObject({
      message: 'fetch failed',
      cause: { code: 'ECONNREFUSED' },
    });
  });

  it('close() cuts what is still in flight once the grace is over', async () => {
    const a = await fake('a', 0);
    a.mode = 'hang';
    const gw = await gatewayFor([{ id: a.id, url: a.url }], { config: { shutdown: { grace: 300 } } });
    defer(() => gw.close());
    const inFlight = infer(gw.url).then(
      (r) => r.status,
      () => 'cut',
    );
    await waitFor(() => a.received.length === 1);
    const started = Date.now();
    await gw.close();
    expect(Date.now() - started).toBeLessThan(3000);
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    expect(await inFlight).toBe('cut');
  });

  it('SIGTERM to the CLI gateway during a slow request: the request completes, then the process exits 0', async () => {
    const a = await fake('a', 1000);
    const gw = await startGatewayProcess(['--replica', a.url, '--poll-interval', '100ms']);
    defer(() => gw.stop());
    await waitFor(async () => (await fetch(`${gw.url}/v2/health/ready`)).status === 200, 15_000);
    const inFlight = infer(gw.url);
    await waitFor(() => a.received.length === 1);
    const exited = new Promise<number | null>((resolve) => gw.process.once('exit', (code) => resolve(code)));
    gw.process.kill('SIGTERM');
    const res = await inFlight;
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ replica: 'a' });
    expect(await exited).toBe(0);
  }, 60_000);
});
