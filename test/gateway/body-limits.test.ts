import { request as httpRequest, type ClientRequest, type IncomingHttpHeaders } from 'node:http';
import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import { startFakeReplica, type FakeReplica } from './fake-replica.js';
import { closedAfterEach, waitFor } from './gateway-harness.js';

/** Request bodies cost memory only once admitted, within a process-wide budget and the deadline. */
const { defer, gateway } = closedAfterEach();

async function fake(id: string, delayMs = 0): Promise<FakeReplica> {
  const f = await startFakeReplica({ id, delayMs });
  defer(() => f.close());
  return f;
}

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** A POST that declares `declared` bytes and sends only `sent` of them for now (the rest via `req`). */
function partialPost(
  base: string,
  path: string,
  declared: number,
  sent: number,
  headers: Record<string, string> = {},
): { req: ClientRequest; answer: Promise<Answer> } {
  const { hostname, port } = new URL(base);
  let req!: ClientRequest;
  const answer = new Promise<Answer>((resolve, reject) => {
    req = httpRequest(
      { hostname, port, path, method: 'POST', headers: { 'content-length': String(declared), ...headers } },
      (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
      },
    );
    req.on('error', reject);
  });
  req.on('error', () => undefined);
  answer.catch(() => undefined); // a request the test destroys at the end is not an unhandled failure
  if (sent > 0) req.write(Buffer.alloc(sent, 1));
  else req.flushHeaders();
  defer(() => void req.destroy());
  return { req, answer };
}

describe('gateway request bodies', () => {
  it('an unknown model is refused before its body is read', async () => {
    const a = await fake('a');
    const gw = await gateway([a]);
    // Nothing of the 1000 declared bytes is ever sent: the answer cannot wait for them.
    const { answer } = partialPost(gw.url, '/v2/models/nope/infer', 1000, 0);
    const res = await answer;
    expect(res.status).toBe(404);
    expect(JSON.parse(res.body)).toMatchObject({ code: 'MODEL_NOT_FOUND' });
  });

  it('a full queue is refused (429) before the body is read', async () => {
    const a = await fake('a');
    a.mode = 'hang';
    const gw = await gateway([a], { config: { limits: { maxInFlightPerReplica: 1, queuePerModel: 0 } } });
    const first = partialPost(gw.url, '/v2/models/shapes/infer', 10, 10);
    first.req.end();
    await waitFor(() => a.received.length === 1);
    const { answer } = partialPost(gw.url, '/v2/models/shapes/infer', 1000, 0);
    const res = await answer;
    expect(res.status).toBe(429);
    // No request has finished: the replica's reported 10 ms service time × 1 waiting, rounded up to 1 s.
    expect(res.headers['retry-after']).toBe('1');
    expect(JSON.parse(res.body)).toMatchObject({ code: 'OVERLOADED' });
  });

  it('bodies held across the process stay within maxHeldBodyBytes: beyond, 429 with Retry-After', async () => {
    const a = await fake('a');
    const gw = await gateway([a], { config: { limits: { maxHeldBodyBytes: 100_000 } } });
    // A slow uploader holds 80 000 declared bytes of the budget while its body arrives.
    const slow = partialPost(gw.url, '/v2/models/shapes/infer', 80_000, 1000);
    await new Promise((r) => setTimeout(r, 100));
    const refused = await partialPost(gw.url, '/v2/models/shapes/infer', 30_000, 30_000).answer;
    expect(refused.status).toBe(429);
    expect(refused.headers['retry-after']).toBe('1');
    expect(JSON.parse(refused.body)).toMatchObject({ code: 'OVERLOADED' });
    // Chunked bodies are counted as they arrive.
    const chunked = await fetch(`${gw.url}/v2/models/shapes/infer`, {
      method: 'POST',
      body: new Blob([Buffer.alloc(40_000)]).stream(),
      duplex: 'half',
    });
    expect(chunked.status).toBe(429);
    slow.req.end(Buffer.alloc(79_000, 1));
    expect((await slow.answer).status).toBe(200);
    // Given back once answered.
    const after = await partialPost(gw.url, '/v2/models/shapes/infer', 90_000, 90_000).answer;
    expect(after.status).toBe(200);
    expect(a.received.map((r) => r.bytes)).toEqual([80_000, 90_000]);
  });

  it('the deadline stops a slow upload (504) and frees its budget', async () => {
    const a = await fake('a');
    const gw = await gateway([a], { config: { limits: { maxHeldBodyBytes: 100_000 } } });
    const started = Date.now();
    for (const declared of [1000, 90_000]) {
      // A small body (read whole) and a large one (streamed as it arrives): neither outlives the deadline.
      const { answer } = partialPost(gw.url, '/v2/models/shapes/infer', declared, 10, { timeout: '300ms' });
      const res = await answer;
      expect(res.status).toBe(504);
      expect(JSON.parse(res.body)).toMatchObject({ code: 'DEADLINE_EXCEEDED' });
    }
    expect(Date.now() - started).toBeLessThan(5000);
    const after = await partialPost(gw.url, '/v2/models/shapes/infer', 90_000, 90_000).answer;
    expect(after.status).toBe(200);
  });

  it("Node's request and header timeouts come from the config", async () => {
    const a = await fake('a');
    const gw = await gateway([a], { config: { limits: { requestTimeout: 1000, headersTimeout: 500 } } });
    const { hostname, port } = new URL(gw.url);
    const started = Date.now();
    const reply = await new Promise<string>((resolve, reject) => {
      const socket = connect(Number(port), hostname);
      let out = '';
      socket.on('data', (d) => (out += d.toString()));
      socket.on('close', () => resolve(out));
      socket.on('error', reject);
      socket.write('GET /v2/health/live HTTP/1.1\r\nhost: x\r\n'); // headers never end
    });
    expect(reply).toMatch(/^HTTP\/1.1 408/);
    expect(Date.now() - started).toBeLessThan(5000);
  });
});
