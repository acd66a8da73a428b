import { afterEach, describe, expect, it } from 'vitest';
import { ReplicaStats } from '../../replica/contract.js';
import { drawImage } from '../helpers/images.js';
import { sampleValue } from '../helpers/prometheus.js';
import {
  startReplica as startReplicaProcess,
  type ReplicaProcess,
  type StartReplicaOptions,
} from '../helpers/replica-process.js';

/** Start-up, drain and SIGTERM of real replica processes. */

const detect = (url: string, body: Buffer, type = 'image/png') =>
  fetch(`${url}/v1/models/shapes/detect`, { method: 'POST', body, headers: { 'content-type': type } });

type DetectBody = { detections?: { name: string }[]; error?: { code: string } };

async function stats(url: string): Promise<ReplicaStats> {
  return ReplicaStats.parse(await (await fetch(`${url}/v1/stats`)).json());
}

/** Every replica a test starts is killed after it, whatever the test did (a failed assertion included). */
const started: ReplicaProcess[] = [];
async function startReplica(options: StartReplicaOptions): Promise<ReplicaProcess> {
  const replica = await startReplicaProcess(options);
  started.push(replica);
  return replica;
}
afterEach(async () => {
  await Promise.all(started.splice(0).map((r) => r.stop('SIGKILL', 1000)));
});

describe('replica lifecycle (real processes)', () => {
  it('SIGTERM during load: admitted requests complete, new ones get 503 DRAINING, exit code 0', async () => {
    const replica = await startReplica({ model: 'models/shapes', args: ['--max-batch', '2'] });
    // 12-megapixel PNGs keep the replica busy (decode and resize dominate) so work is in flight when the signal lands.
    const image = await drawImage({
      width: 4000,
      height: 3000,
      format: 'png',
      rects: [{ box: [600, 480, 1800, 1440], color: 'green' }],
    });
    const requests = Array.from({ length: 32 }, () =>
      detect(replica.url, image).then(
        async (res) => ({
          status: res.status,
          body: (await res.json()) as DetectBody,
        }),
        (err: unknown): { status: number; body: DetectBody } => ({
          status: -1,
          body: { error: { code: String(err) } },
        }),
      ),
    );
    // HTTP requests being handled (decoding included), less the scrape itself.
    let inFlightAtSignal = 0;
    for (let i = 0; i < 200 && inFlightAtSignal < 4; i++) {
      const text = await (await fetch(`${replica.url}/metrics`)).text();
      inFlightAtSignal = sampleValue(text, 'gpumux_http_requests_in_flight') - 1;
    }
    expect(inFlightAtSignal, 'work in flight before SIGTERM').toBeGreaterThanOrEqual(4);
    replica.process.kill('SIGTERM');

    // Readiness turns false as soon as the signal is handled, while admitted work still runs.
    let readiness = 200;
    for (let i = 0; i < 200 && readiness === 200; i++) {
      readiness = await fetch(`${replica.url}/v2/health/ready`).then(
        (r) => r.status,
        () => -1,
      );
    }
    expect(readiness).toBe(503);

    const results = await Promise.all(requests);
    const exit = await replica.exited;
    expect(exit).toEqual({ code: 0, signal: null });
    const ok = results.filter((r) => r.status === 200);
    for (const r of ok) expect(r.body.detections?.[0]?.name).toBe('green');
    // Every request got an answer: a result, or a clean retryable refusal — never a dropped connection.
    for (const r of results.filter((x) => x.status !== 200)) {
      expect(r).toMatchObject({ status: 503, body: { error: { code: 'DRAINING' } } });
    }
    expect(ok.length).toBeGreaterThanOrEqual(inFlightAtSignal);
    const msgs = replica.logs().map((l) => l.msg);
    expect(msgs).toContain('draining');
    expect(msgs).toContain('drained');
  });

  it('POST /v1/drain drains without exiting; SIGTERM then exits 0', async () => {
    const replica = await startReplica({ model: 'models/shapes' });
    const jpeg = await drawImage({
      width: 640,
      height: 480,
      rects: [{ box: [100, 120, 300, 260], color: 'red' }],
    });
    expect((await detect(replica.url, jpeg, 'image/jpeg')).status).toBe(200);
    const res = await fetch(`${replica.url}/v1/drain`, { method: 'POST' });
    expect(res.status).toBe(202);
    expect(await res.json()).toMatchObject({ state: 'draining' });
    expect((await fetch(`${replica.url}/v2/health/ready`)).status).toBe(503);
    expect((await fetch(`${replica.url}/v2/health/live`)).status).toBe(200);
    const refused = await detect(replica.url, jpeg, 'image/jpeg');
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('1');
    expect(await refused.json()).toMatchObject({ error: { code: 'DRAINING' } });
    expect(await stats(replica.url)).toMatchObject({ state: 'draining', ready: false, inFlight: 0 });
    const text = await (await fetch(`${replica.url}/metrics`)).text();
    expect(text).toMatch(/^gpumux_replica_ready\{[^}]*\} 0$/m);
    expect(replica.process.exitCode).toBeNull(); // still running
    expect(await replica.stop()).toEqual({ code: 0, signal: null });
  });

  it('listens before the model is ready, then turns ready', async () => {
    const replica = await startReplica({ model: 'models/shapes', waitForReady: false });
    try {
      expect((await fetch(`${replica.url}/v2/health/live`)).status).toBe(200);
      const listenedAt = replica.logs().findIndex((l) => l.msg === 'listening');
      let readyAt = -1;
      for (let i = 0; i < 300 && readyAt < 0; i++) {
        if ((await fetch(`${replica.url}/v2/health/ready`)).status === 200)
          readyAt = replica.logs().findIndex((l) => l.msg === 'ready');
        else await new Promise((r) => setTimeout(r, 50));
      }
      expect(readyAt).toBeGreaterThan(listenedAt);
      expect(replica.logs()[listenedAt]).toMatchObject({
        level: 'info',
        url: replica.url,
        port: replica.port,
      });
    } finally {
      await replica.stop();
    }
  });

  it('SIGTERM while the model is still loading exits 0 (a cut-short load is no failure)', async () => {
    const replica = await startReplica({ model: 'models/shapes', waitForReady: false });
    expect((await fetch(`${replica.url}/v2/health/ready`)).status).toBe(503);
    expect(await replica.stop('SIGTERM')).toEqual({ code: 0, signal: null });
    expect(replica.logs().some((l) => l.msg === 'model failed to load; exiting')).toBe(false);
  });

  it('exits non-zero with the reason when the model cannot load', async () => {
    const replica = await startReplica({
      model: 'models/shapes',
      args: ['--onnx', '/nonexistent/model.onnx'],
      waitForReady: false,
    });
    const exit = await replica.exited;
    expect(exit.code).toBe(1);
    const failure = replica.logs().find((l) => l.msg === 'model failed to load; exiting');
    expect(failure, JSON.stringify(replica.logs())).toMatchObject({
      level: 'error',
      err: { message: expect.stringContaining('/nonexistent/model.onnx') },
    });
  });

  it('refuses to start with a bad manifest path, before listening', async () => {
    await expect(startReplica({ model: 'models/does-not-exist', waitForReady: false })).rejects.toThrow(
      /exited before listening/,
    );
  });
});
