import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import { startFakeReplica, type FakeReplica } from './fake-replica.js';
import { closedAfterEach, waitFor } from './gateway-harness.js';

const GiB = 1024 ** 3;
const { defer, gateway } = closedAfterEach();

async function fake(
  id: string,
  gpu?: [string, number],
  extra: { usedBytes?: number; delayMs?: number } = {},
): Promise<FakeReplica> {
  const f = await startFakeReplica({
    id,
    ...(gpu && {
      gpu: {
        node: gpu[0],
        index: gpu[1],
        capacityBytes: 24 * GiB,
        ...(extra.usedBytes !== undefined && { usedBytes: extra.usedBytes }),
      },
    }),
    ...(extra.delayMs !== undefined && { delayMs: extra.delayMs }),
  });
  defer(() => f.close());
  return f;
}

/** Ties between equal replicas go to the first (lowest id): tests that need to know who is tried first. */
const firstOfTies = () => 0.99;

const infer = (url: string, init: RequestInit = {}) =>
  fetch(`${url}/v2/models/shapes/infer`, { method: 'POST', body: '{"inputs":[]}', ...init });

describe('gateway proxy (stand-in replicas)', () => {
  it('passes bodies and binary-extension headers through untouched, propagates or makes request ids', async () => {
    const a = await fake('a');
    const gw = await gateway([a]);
    const body = Buffer.alloc(300_000);
    for (let i = 0; i < body.length; i++) body[i] = (i * 31) & 0xff;
    const res = await infer(gw.url, {
      body,
      headers: {
        'inference-header-content-length': '42',
        'content-type': 'application/octet-stream',
        'x-request-id': 'req-123',
      },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-request-id')).toBe('req-123');
    expect(await res.json()).toMatchObject({ replica: 'a', bytes: body.length });
    const seen = a.received.at(-1)!;
    expect(seen.headers['inference-header-content-length']).toBe('42');
    expect(seen.headers['x-request-id']).toBe('req-123');
    const second = await infer(gw.url);
    expect(second.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    expect(a.received.at(-1)!.headers['x-request-id']).toBe(second.headers.get('x-request-id'));
  });

  it('answers for the cluster: readiness, model readiness, 404 for unknown models, metadata from a replica', async () => {
    const a = await fake('a');
    const gw = await gateway([a], { models: ['shapes', 'codetr'] });
    expect((await fetch(`${gw.url}/v2/health/ready`)).status).toBe(503);
    expect((await fetch(`${gw.url}/v2/models/shapes/ready`)).status).toBe(200);
    const missing = await infer(gw.url.replace(/$/, '')).then(() =>
      fetch(`${gw.url}/v2/models/codetr/infer`, { method: 'POST', body: 'x' }),
    );
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ code: 'MODEL_NOT_FOUND' });
    const detectMissing = await fetch(`${gw.url}/v1/models/codetr/detect`, { method: 'POST', body: 'x' });
    expect(await detectMissing.json()).toMatchObject({ error: { code: 'MODEL_NOT_FOUND' } });
    expect(await (await fetch(`${gw.url}/v2/models/shapes`)).json()).toMatchObject({
      name: 'shapes',
      served_by: 'a',
    });
    const only = await gateway([a], { models: ['shapes'] });
    expect((await fetch(`${only.url}/v2/health/ready`)).status).toBe(200);
  });

  it('two replicas on GPU 0 and one on GPU 1: two concurrent requests land on different GPUs', async () => {
    const a = await fake('a', ['n', 0], { delayMs: 400 });
    const b = await fake('b', ['n', 0], { delayMs: 400 });
    const c = await fake('c', ['n', 1], { delayMs: 400 });
    const gw = await gateway([a, b, c]);
    const first = infer(gw.url);
    await waitFor(() => a.inFlight() + b.inFlight() + c.inFlight() === 1);
    const second = infer(gw.url);
    const served = await Promise.all(
      [first, second].map(async (p) => ((await (await p).json()) as { replica: string }).replica),
    );
    const gpuOf = (id: string) => (id === 'c' ? 1 : 0);
    expect(new Set(served.map(gpuOf)).size).toBe(2);
    // Headroom breaks the idle tie: GPU 1 (one replica) has more room than GPU 0 (two).
    expect(served[0]).toBe('c');
  });

  it('a replica whose GPU has almost no headroom gets nothing while others can serve', async () => {
    const full = await fake('full', ['n', 0], { usedBytes: 23.9 * GiB });
    const ok = await fake('ok', ['n', 1]);
    const gw = await gateway([full, ok]);
    const results = await Promise.all(
      Array.from({ length: 20 }, () => infer(gw.url).then((r) => r.json() as Promise<{ replica: string }>)),
    );
    expect(results.every((r) => r.replica === 'ok')).toBe(true);
    expect(full.received).toHaveLength(0);
    const view = await gw.clusterView();
    expect(view.gpus.find((g) => g.id === 'virtual-n-0')).toMatchObject({
      critical: true,
      memoryHeadroomBytes: 0,
    });
  });

  it('a hanging replica: 504 at the deadline, ejected, re-admitted when healthy', async () => {
    const hang = await fake('a-hang');
    const ok = await fake('b-ok');
    hang.mode = 'hang';
    const gw = await gateway([hang, ok], {
      random: firstOfTies,
      config: { routing: { weights: { headroom: 0 } }, ejection: { consecutiveFailures: 1, base: 1500 } },
    });
    const started = Date.now();
    const res = await infer(gw.url, { headers: { timeout: '300' } });
    const took = Date.now() - started;
    expect(res.status).toBe(504);
    expect(await res.json()).toMatchObject({ code: 'DEADLINE_EXCEEDED' });
    expect(took).toBeGreaterThanOrEqual(290);
    expect(took).toBeLessThan(3000);
    await waitFor(() => hang.aborted === 1); // the upstream request was cancelled
    const replicaView = async (id: string) =>
      (await gw.clusterView()).gpus.flatMap((g) => g.replicas).find((r) => r.id === id)!;
    expect(await replicaView('a-hang')).toMatchObject({ ejected: true, consecutiveFailures: 1 });
    // Ejected: everything goes to the other one, even what would go first to the hanging one.
    for (let i = 0; i < 3; i++) expect(await (await infer(gw.url)).json()).toMatchObject({ replica: 'b-ok' });
    hang.mode = 'ok';
    await waitFor(async () => !(await replicaView('a-hang')).ejected, 5000);
    // Back in the rotation: concurrent requests reach it again.
    const servedBy = await Promise.all(
      Array.from(
        { length: 6 },
        async () => ((await (await infer(gw.url)).json()) as { replica: string }).replica,
      ),
    );
    expect(servedBy).toContain('a-hang');
    const metrics = await (await fetch(`${gw.adminUrl}/metrics`)).text();
    expect(metrics).toMatch(/gpumux_gateway_ejections_total\{model="shapes"\} 1/);
    expect(metrics).toMatch(/gpumux_gateway_request_duration_seconds_count\{model="shapes",code="504"\} 1/);
  });

  it('no replica to route to: 503 NO_REPLICA, and /v1/cluster names the filter that left none', async () => {
    const a = await fake('a');
    const gw = await gateway([a]);
    a.state = 'warming';
    await waitFor(async () => (await gw.clusterView()).totals.readyReplicas === 0);
    const res = await infer(gw.url);
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({ code: 'NO_REPLICA' });
    const [model] = (await gw.clusterView()).models;
    expect(model!.lastRoutingFailure).toMatchObject({ filter: 'ready', code: 'NO_REPLICA' });
  });

  it('the only replica of a model is never ejected: a hanging one still gets requests (504), not 503', async () => {
    const hang = await fake('hang');
    hang.mode = 'hang';
    const gw = await gateway([hang], { config: { ejection: { consecutiveFailures: 1 } } });
    for (let i = 0; i < 3; i++)
      expect((await infer(gw.url, { headers: { timeout: '300' } })).status).toBe(504);
    expect((await gw.clusterView()).gpus[0]!.replicas[0]).toMatchObject({
      ejected: false,
      consecutiveFailures: 3,
    });
  });

  it('retries on another replica when one is dying (503, refused connections) and ejects it', async () => {
    const bad = await fake('a-bad');
    const good = await fake('b-good');
    const gw = await gateway([bad, good], {
      random: firstOfTies,
      config: { routing: { weights: { headroom: 0 } }, ejection: { consecutiveFailures: 1, base: 60_000 } },
    });
    bad.mode = 'unavailable';
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await infer(gw.url)).status);
    expect(statuses).toEqual([200, 200, 200, 200, 200, 200]);
    expect(bad.received.length).toBeGreaterThan(0);
    await bad.close(); // connections refused from now on
    for (let i = 0; i < 6; i++) expect((await infer(gw.url)).status).toBe(200);
    const metrics = await (await fetch(`${gw.adminUrl}/metrics`)).text();
    expect(metrics).toMatch(/gpumux_gateway_retries_total\{model="shapes",reason="503"\} [1-9]/);
    expect((await gw.clusterView()).gpus[0]!.replicas.find((r) => r.id === 'a-bad')!.ejected).toBe(true);
  });

  it('a large body streamed to a failing replica is re-sent whole to the next one', async () => {
    const bad = await fake('a-bad');
    const good = await fake('b-good');
    bad.mode = 'unavailable';
    const gw = await gateway([bad, good], {
      random: firstOfTies,
      config: { routing: { weights: { headroom: 0 } }, ejection: { consecutiveFailures: 5 } },
    });
    const body = Buffer.alloc(1_000_000, 3);
    const res = await infer(gw.url, { body });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ replica: 'b-good', bytes: body.length });
    expect(bad.received[0]!.bytes).toBe(body.length);
  });

  it('a chunked body over the limit is refused with 413 while it streams', async () => {
    const a = await fake('a');
    const gw = await gateway([a], { config: { limits: { maxBodyBytes: 100_000 } } });
    const status = await new Promise<number>((resolve, reject) => {
      const req = httpRequest(
        `${gw.url}/v2/models/shapes/infer`,
        { method: 'POST', headers: { 'transfer-encoding': 'chunked' } },
        (res) => {
          res.resume();
          resolve(res.statusCode!);
        },
      );
      req.on('error', reject);
      for (let i = 0; i < 4; i++) req.write(Buffer.alloc(50_000));
      req.end();
    });
    expect(status).toBe(413);
    expect(a.received).toHaveLength(0);
  });

  it('a replica that died since the last poll: the refused connection is retried elsewhere', async () => {
    const dead = await fake('a-dead');
    const good = await fake('b-good');
    // Polls far apart: the gateway still believes the dead replica is ready when requests arrive.
    const gw = await gateway([dead, good], {
      random: firstOfTies,
      config: { pollInterval: 60_000, routing: { weights: { headroom: 0 } } },
    });
    await dead.close();
    for (let i = 0; i < 4; i++) {
      const res = await infer(gw.url);
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ replica: 'b-good' });
    }
    const metrics = await (await fetch(`${gw.adminUrl}/metrics`)).text();
    expect(metrics).toMatch(/gpumux_gateway_retries_total\{model="shapes",reason="connection"\} [1-9]/);
  });

  it('a 500 reaches the client as is (the request may be at fault) and counts towards ejection', async () => {
    const bad = await fake('a-bad');
    const good = await fake('b-good');
    bad.mode = 'fail';
    const gw = await gateway([bad, good], {
      random: firstOfTies,
      config: { routing: { weights: { headroom: 0 } }, ejection: { consecutiveFailures: 2, base: 60_000 } },
    });
    expect((await infer(gw.url)).status).toBe(500);
    expect((await infer(gw.url)).status).toBe(500);
    expect((await gw.clusterView()).gpus[0]!.replicas.find((r) => r.id === 'a-bad')!.ejected).toBe(true);
    expect(await (await infer(gw.url)).json()).toMatchObject({ replica: 'b-good' });
  });

  it('a client that disconnects cancels its upstream request', async () => {
    const a = await fake('a');
    a.mode = 'hang';
    const gw = await gateway([a]);
    const req = httpRequest(`${gw.url}/v2/models/shapes/infer`, { method: 'POST' });
    req.on('error', () => undefined);
    req.end('x');
    await waitFor(() => a.received.length === 1);
    req.destroy();
    await waitFor(() => a.aborted === 1);
  });

  it("a client that leaves mid-answer is recorded as 499, not as the replica's 200", async () => {
    const a = await fake('a');
    a.mode = 'trickle';
    const gw = await gateway([a]);
    const req = httpRequest(`${gw.url}/v2/models/shapes/infer`, { method: 'POST' });
    req.on('error', () => undefined);
    const gotHead = new Promise<number>((resolve) => req.on('response', (res) => resolve(res.statusCode!)));
    req.end('x');
    expect(await gotHead).toBe(200);
    req.destroy();
    await waitFor(() => a.aborted === 1);
    const code = async () =>
      /gpumux_gateway_request_duration_seconds_count\{model="shapes",code="(\d+)"\}/.exec(
        await (await fetch(`${gw.adminUrl}/metrics`)).text(),
      )?.[1];
    await waitFor(async () => (await code()) !== undefined);
    expect(await code()).toBe('499');
  });

  it('overload: a bounded queue, then 429 with Retry-After', async () => {
    const a = await fake('a', undefined, { delayMs: 200 });
    const gw = await gateway([a], { config: { limits: { maxInFlightPerReplica: 2, queuePerModel: 3 } } });
    const results = await Promise.all(Array.from({ length: 12 }, () => infer(gw.url)));
    const codes = results.map((r) => r.status);
    expect(codes.filter((c) => c === 200)).toHaveLength(5);
    expect(codes.filter((c) => c === 429)).toHaveLength(7);
    const refused = results.find((r) => r.status === 429)!;
    // Refused before any answer: the reported 10 ms service time × 4 (3 waiting + 1) rounds up to 1 s.
    expect(refused.headers.get('retry-after')).toBe('1');
    expect(await refused.json()).toMatchObject({ code: 'OVERLOADED' });
    // The replica itself never saw more than the limit at once (and did see it: the limit was reached).
    expect(a.maxInFlight()).toBe(2);
  });

  it('bearer auth on the client API; health stays open; operator API apart', async () => {
    const a = await fake('a');
    const gw = await gateway([a], { authTokens: ['client-token'], adminTokens: ['admin-token'] });
    const refused = await infer(gw.url);
    expect(refused.status).toBe(401);
    expect(refused.headers.get('www-authenticate')).toBe('Bearer');
    expect(await refused.json()).toMatchObject({ code: 'UNAUTHORIZED' });
    expect((await infer(gw.url, { headers: { authorization: 'Bearer wrong' } })).status).toBe(401);
    expect((await infer(gw.url, { headers: { authorization: 'Bearer client-token' } })).status).toBe(200);
    expect((await fetch(`${gw.url}/v2/health/live`)).status).toBe(200);
    // The authorization header is the gateway's business, not the replica's.
    expect(a.received.at(-1)!.headers.authorization).toBeUndefined();
    expect((await fetch(`${gw.adminUrl}/v1/cluster`)).status).toBe(401);
    expect(
      (await fetch(`${gw.adminUrl}/v1/cluster`, { headers: { authorization: 'Bearer client-token' } }))
        .status,
    ).toBe(401);
    expect(
      (await fetch(`${gw.adminUrl}/v1/cluster`, { headers: { authorization: 'Bearer admin-token' } })).status,
    ).toBe(200);
    const missing = await fetch(`${gw.adminUrl}/metrics`);
    expect(missing.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect(await missing.json()).toMatchObject({ error: { code: 'UNAUTHORIZED' } });
    const malformed = await fetch(`${gw.adminUrl}/metrics`, { headers: { authorization: 'Basic eDp5' } });
    expect(malformed.status).toBe(400);
    expect((await fetch(`${gw.adminUrl}/healthz`)).status).toBe(200);
  });

  it('auth cannot be bypassed through dot segments below the open health paths', async () => {
    const a = await fake('a');
    const gw = await gateway([a], { authTokens: ['client-token'] });
    // fetch() would resolve the dots itself: send the path exactly as written.
    const get = (path: string) =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        const { hostname, port } = new URL(gw.url);
        const req = httpRequest({ hostname, port, path, method: 'GET' }, (res) => {
          let body = '';
          res.on('data', (d: Buffer) => (body += d.toString()));
          res.on('end', () => resolve({ status: res.statusCode!, body }));
        });
        req.on('error', reject);
        req.end();
      });
    for (const path of [
      '/v2/health/../models/shapes/ready',
      '/v2/health/%2e%2e/models/shapes/ready',
      '/v2/health/%2E%2E/models/shapes',
      '/v2/health/.%2e/models/shapes/ready',
      '/v2/health/..%2fmodels/shapes/ready',
    ]) {
      const res = await get(path);
      expect(res.status, path).toBe(400);
      expect(JSON.parse(res.body), path).toMatchObject({ code: 'BAD_REQUEST' });
    }
    expect((await get('/v2/health/x/../../models/shapes/ready')).status).toBe(400);
    expect((await get('/v2/models/shapes/ready')).status).toBe(401);
    expect((await get('/v2/health/ready')).status).toBe(200);
    expect((await get('/v2/health/live?probe=1')).status).toBe(200);
    // Only the exact probe paths are open.
    expect((await get('/v2/health/ready/extra')).status).toBe(401);
    expect(a.received).toHaveLength(0);
  });

  it('limits body and header sizes', async () => {
    const a = await fake('a');
    const gw = await gateway([a], { config: { limits: { maxBodyBytes: 1000, maxHeaderBytes: 2048 } } });
    const big = await infer(gw.url, { body: Buffer.alloc(5000) });
    expect(big.status).toBe(413);
    expect(await big.json()).toMatchObject({ code: 'PAYLOAD_TOO_LARGE' });
    const headers = await infer(gw.url, { headers: { 'x-big': 'y'.repeat(4096) } });
    expect(headers.status).toBe(431);
    expect(a.received).toHaveLength(0);
  });

  it('nothing in a request picks the upstream address: Host and absolute-form URLs are ignored', async () => {
    const a = await fake('a');
    const victim = await fake('victim');
    const gw = await gateway([a]);
    const { port } = new URL(gw.url);
    const victimHost = new URL(victim.url).host;
    const raw = async (requestLine: string, host: string) =>
      new Promise<string>((resolve, reject) => {
        const socket = connect(Number(port), '127.0.0.1', () => {
          socket.write(`${requestLine}\r\nHost: ${host}\r\nContent-Length: 1\r\nConnection: close\r\n\r\nx`);
        });
        let out = '';
        socket.on('data', (d) => (out += d.toString()));
        socket.on('end', () => resolve(out));
        socket.on('error', reject);
      });
    const absolute = await raw(`POST http://${victimHost}/v2/models/shapes/infer HTTP/1.1`, victimHost);
    expect(absolute).toMatch(/^HTTP\/1.1 404/);
    const hosted = await raw('POST /v2/models/shapes/infer HTTP/1.1', victimHost);
    expect(hosted).toMatch(/^HTTP\/1.1 200/);
    expect(victim.received).toHaveLength(0);
    expect(a.received).toHaveLength(1);
  });

  it('a multi-frame detect is split across replicas and merged back in order', async () => {
    const a = await fake('a', ['n', 0], { delayMs: 100 });
    const b = await fake('b', ['n', 1], { delayMs: 100 });
    const gw = await gateway([a, b]);
    const form = new FormData();
    for (let i = 0; i < 4; i++)
      form.append('image', new Blob([Buffer.alloc(100 + i)], { type: 'image/png' }), `f${i}.png`);
    const res = await fetch(`${gw.url}/v1/models/shapes/detect?threshold=0.4`, {
      method: 'POST',
      body: form,
    });
    expect(res.status).toBe(200);
    const { results } = (await res.json()) as { results: { replica: string; bytes: number; path: string }[] };
    expect(results.map((r) => r.bytes)).toEqual([100, 101, 102, 103]);
    expect(new Set(results.map((r) => r.replica)).size).toBe(2);
    expect(results[0]!.path).toBe('/v1/models/shapes/detect?threshold=0.4');
    expect(a.received.concat(b.received).every((r) => r.headers['content-type'] === 'image/png')).toBe(true);
  });

  it('a frame whose replica answers a non-JSON error (an HTML 502) is UPSTREAM_FAILED, not INTERNAL', async () => {
    const a = await fake('a', ['n', 0]);
    const b = await fake('b', ['n', 1]);
    a.mode = 'html';
    b.mode = 'html';
    const gw = await gateway([a, b], { config: { retries: { max: 0 } } });
    const form = new FormData();
    for (let i = 0; i < 2; i++) form.append('image', new Blob([Buffer.alloc(100)]), `f${i}.png`);
    const res = await fetch(`${gw.url}/v1/models/shapes/detect`, { method: 'POST', body: form });
    expect(res.status).toBe(200);
    const { results } = (await res.json()) as { results: { error: { code: string; message: string } }[] };
    expect(results.map((r) => r.error.code)).toEqual(['UPSTREAM_FAILED', 'UPSTREAM_FAILED']);
    expect(results[0]!.error.message).toMatch(/502/);
  });
});
