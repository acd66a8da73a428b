import { mkdtempSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { grpcClients } from '../grpc/client.js';
import { drawImage } from '../helpers/images.js';
import { startReplica, type ReplicaProcess } from '../helpers/replica-process.js';
import { waitFor } from './gateway-harness.js';
import { startGatewayProcess, type GatewayProcess } from './gateway-process.js';

/**
 * Issue #19 item 4: SIGTERM ends the gateway process in bounded time whatever its clients and replicas do.
 * Real processes: the CLI gateway, one replica SIGSTOPped with requests (REST and gRPC) in flight on it, one
 * SIGKILLed; raw TCP clients holding half-sent headers and a half-sent body, an idle keep-alive connection,
 * and the operator page's event stream left open.
 */
const DRAIN_DEADLINE_MS = 3000;
/** Process exit after the deadline: closing sockets, pools and the gRPC server, and the exit itself. */
const MARGIN_MS = 1500;

const replicas: ReplicaProcess[] = [];
const sockets: Socket[] = [];
let gateway: GatewayProcess | undefined;

afterAll(async () => {
  for (const s of sockets) s.destroy();
  await gateway?.stop();
  for (const r of replicas) r.process.kill('SIGCONT');
  await Promise.all(replicas.map((r) => r.stop('SIGKILL')));
});

/** A raw TCP connection that sends `bytes` and then nothing more (what an HTTP client will not do). */
async function rawClient(url: string, bytes: string | Buffer): Promise<Socket> {
  const { hostname, port } = new URL(url);
  const socket = connect(Number(port), hostname);
  socket.on('error', () => undefined);
  sockets.push(socket);
  await new Promise<void>((resolve) => socket.once('connect', resolve));
  socket.write(bytes);
  return socket;
}

async function replicaState(adminUrl: string, id: string): Promise<string | undefined> {
  const view = (await (await fetch(`${adminUrl}/v1/cluster`)).json()) as {
    gpus: { replicas: { id: string; state: string }[] }[];
    unplaced?: { id: string; state: string }[];
  };
  return [...view.gpus.flatMap((g) => g.replicas), ...(view.unplaced ?? [])].find((r) => r.id === id)?.state;
}

describe('gateway SIGTERM with hostile clients and broken replicas (real processes)', () => {
  it('exits within the drain deadline plus a small margin, and logs what it cut', async () => {
    const [hung, dead] = await Promise.all([
      startReplica({ args: ['--replica-id', 'hung'] }),
      startReplica({ args: ['--replica-id', 'dead'] }),
    ]);
    replicas.push(hung, dead);
    const dir = mkdtempSync(path.join(os.tmpdir(), 'gpumux-shutdown-'));
    const config = path.join(dir, 'gateway.yaml');
    writeFileSync(config, `shutdown:\n  grace: ${DRAIN_DEADLINE_MS}ms\n`);
    gateway = await startGatewayProcess([
      '--replica',
      hung.url,
      '--replica',
      dead.url,
      '--poll-interval',
      '200ms',
      '--grpc-port',
      '0',
      '--config',
      config,
    ]);
    const gw = gateway;
    await waitFor(async () => (await fetch(`${gw.url}/v2/health/ready`)).status === 200, 20_000);

    // A dead replica: SIGKILLed, and the gateway has noticed.
    await dead.stop('SIGKILL');
    await waitFor(async () => (await replicaState(gw.adminUrl, 'dead')) !== 'ready', 10_000);

    const image = await drawImage({ width: 64, height: 64, rects: [], format: 'jpeg' });
    const grpc = grpcClients(gw.grpcAddress!);
    await grpc.inference.ServerLive({}); // connected before the replica hangs
    // A hung one (TCP still accepts) with requests in flight on it: REST and gRPC, no client deadline.
    hung.process.kill('SIGSTOP');
    const stuck = [1, 2].map(() =>
      fetch(`${gw.url}/v1/models/shapes/detect`, {
        method: 'POST',
        body: image,
        headers: { 'content-type': 'image/jpeg', timeout: '60s' },
      }).then(
        (r) => r.status,
        () => 'cut' as const,
      ),
    );
    const stuckGrpc = grpc.inference
      .ModelInfer({
        model_name: 'shapes',
        inputs: [{ name: 'images', datatype: 'UINT8', shape: [1, 2, 2, 3] }],
        raw_input_contents: [Buffer.alloc(12)],
      })
      .then(
        () => 'answered',
        () => 'cut',
      );

    // Hostile clients: half-sent headers, a half-sent body, an idle keep-alive connection.
    await rawClient(gw.url, 'POST /v1/models/shapes/detect HTTP/1.1\r\nHost: gw\r\nContent-Type: ima');
    await rawClient(
      gw.url,
      'POST /v1/models/shapes/detect HTTP/1.1\r\nHost: gw\r\nContent-Type: image/jpeg\r\n' +
        'Content-Length: 1000000\r\n\r\n' +
        'x'.repeat(100),
    );
    const idle = await rawClient(gw.url, 'GET /v2/health/live HTTP/1.1\r\nHost: gw\r\n\r\n');
    await new Promise<void>((resolve) => idle.once('data', () => resolve()));
    // The operator page's event stream (server-sent events), left open on the admin port.
    const events = new AbortController();
    const sse = await fetch(`${gw.adminUrl}/ui/events`, { signal: events.signal });
    expect(sse.status).toBe(200);
    void sse.body
      ?.getReader()
      .read()
      .catch(() => undefined);

    await new Promise((r) => setTimeout(r, 300)); // the requests reach the hung replica
    const exited = new Promise<number | null>((resolve) => gw.process.once('exit', (code) => resolve(code)));
    const started = Date.now();
    gw.process.kill('SIGTERM');
    const code = await Promise.race([
      exited,
      new Promise<'still running'>((r) => setTimeout(() => r('still running'), 20_000)),
    ]);
    const took = Date.now() - started;
    events.abort();
    grpc.close();

    expect(code).toBe(0);
    expect(took).toBeLessThan(DRAIN_DEADLINE_MS + MARGIN_MS);
    // In-flight requests past the deadline are cut, not answered late.
    expect(await Promise.all(stuck)).toEqual(['cut', 'cut']);
    expect(await stuckGrpc).toBe('cut');
    const cutLine = gw.logs().find((l) => l.msg === 'shutdown deadline passed: cut what remained');
    // The two detects on the hung replica (the half-sent body may have had its 408 for pace already).
    expect(cutLine).toMatchObject({ grpcCallsCut: true, closeUnfinished: false });
    expect(cutLine!.requests).toBeGreaterThanOrEqual(2);
    expect(cutLine!.connections).toBeGreaterThanOrEqual(3);
  }, 90_000);
});
