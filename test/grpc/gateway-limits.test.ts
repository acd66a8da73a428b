import { describe, expect, it } from 'vitest';
import { status } from '@grpc/grpc-js';
import { closedAfterEach, waitFor } from '../gateway/gateway-harness.js';
import { startFakeReplica, type FakeReplica } from '../gateway/fake-replica.js';
import { grpcClients, grpcCode } from './client.js';

/**
 * What the gateway's gRPC port shares with REST where a real model cannot be made to misbehave on demand:
 * deadlines (the gRPC deadline and the `timeout` metadata), overload, and the version split's proportions —
 * against stand-in replicas that hang or answer instantly.
 */
const { defer, gateway } = closedAfterEach();

async function fake(id: string, version = '1'): Promise<FakeReplica> {
  const r = await startFakeReplica({ id, version });
  defer(() => r.close());
  return r;
}

const infer = {
  model_name: 'shapes',
  inputs: [{ name: 'images', datatype: 'UINT8', shape: [1, 2, 2, 3] }],
  raw_input_contents: [Buffer.alloc(12)],
};

describe('gateway gRPC limits (stand-in replicas)', () => {
  it('a gRPC deadline is the request deadline: DEADLINE_EXCEEDED, and the replica request is cancelled', async () => {
    const r = await fake('hang');
    r.mode = 'hang';
    const gw = await gateway([r], { grpcPort: 0 });
    const client = grpcClients(gw.grpcAddress!);
    defer(() => client.close());
    const started = Date.now();
    expect(await grpcCode(client.inference.ModelInfer(infer, { deadlineMs: 400 }))).toBe(
      status.DEADLINE_EXCEEDED,
    );
    expect(Date.now() - started).toBeLessThan(5000);
    await waitFor(() => r.aborted === 1, 5000);
    // No client deadline: the `timeout` metadata, like the REST header, is enforced by the gateway itself.
    expect(await grpcCode(client.inference.ModelInfer(infer, { meta: { timeout: '300ms' } }))).toBe(
      status.DEADLINE_EXCEEDED,
    );
    expect(await grpcCode(client.inference.ModelInfer(infer, { meta: { timeout: 'soon' } }))).toBe(
      status.INVALID_ARGUMENT,
    );
  });

  it('overload: RESOURCE_EXHAUSTED with a Retry-After once every replica and the queue are full', async () => {
    const r = await fake('busy');
    r.mode = 'hang';
    const gw = await gateway([r], {
      grpcPort: 0,
      config: { timeout: '3s', limits: { maxInFlightPerReplica: 1, queuePerModel: 0 } },
    });
    const client = grpcClients(gw.grpcAddress!);
    defer(() => client.close());
    const first = grpcCode(client.inference.ModelInfer(infer));
    await waitFor(() => r.received.length === 1);
    const err = (await client.inference.ModelInfer(infer).catch((e: unknown) => e)) as {
      code: number;
      metadata: { get(k: string): unknown[] };
    };
    expect(err.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(err.metadata.get('gpumux-code')).toEqual(['OVERLOADED']);
    expect(err.metadata.get('retry-after')).toEqual(['1']); // 10 ms reported service time, rounded up to 1 s
    expect(await first).toBe(status.DEADLINE_EXCEEDED);
  });

  it('applies the 90/10 split before routing: unversioned requests by weight, versioned ones to their version', async () => {
    const v1 = await fake('v1', '1');
    const v2 = await fake('v2', '2');
    const gw = await gateway([v1, v2], {
      config: { versions: { split: { shapes: { '1': 90, '2': 10 } }, stickyHeader: 'x-client-id' } },
    });
    const send = async (path: string, headers: Record<string, string> = {}) => {
      const res = await fetch(`${gw.url}${path}`, { method: 'POST', body: 'x', headers });
      await res.arrayBuffer();
      return res.headers.get('x-served-by');
    };
    const served: (string | null)[] = [];
    let next = 0;
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (next < 400) {
          next++;
          served.push(await send('/v2/models/shapes/infer'));
        }
      }),
    );
    expect(served.length).toBe(400);
    // Smooth weighted round-robin picks exactly 40 of 400 for version 2 (2,000 picks: version-split.test.ts);
    // on a loaded machine a stand-in may miss a stats poll and an answer fail: allow for exactly those.
    const failed = served.filter((s) => s === null).length;
    expect(failed).toBeLessThanOrEqual(8);
    expect(Math.abs(served.filter((s) => s === 'v2').length - 40)).toBeLessThanOrEqual(failed);
    expect(await send('/v2/models/shapes/versions/2/infer')).toBe('v2');

    // Sticky: each client id stays on one version; over many ids the weights still hold roughly.
    const byClient = new Map<string, Set<string>>();
    await Promise.all(
      Array.from({ length: 40 }, async (_, c) => {
        const id = `client-${c}`;
        const seen = new Set<string>();
        for (let i = 0; i < 3; i++) {
          const by = await send('/v2/models/shapes/infer', { 'x-client-id': id });
          if (by !== null) seen.add(by); // a failed answer names no version
        }
        byClient.set(id, seen);
      }),
    );
    expect([...byClient.values()].every((s) => s.size <= 1)).toBe(true);
    expect([...byClient.values()].filter((s) => s.size === 1).length).toBeGreaterThanOrEqual(36);
    expect([...byClient.values()].some((s) => s.has('v2'))).toBe(true);
    expect([...byClient.values()].some((s) => s.has('v1'))).toBe(true);

    const metrics = await (await fetch(`${gw.adminUrl}/metrics`)).text();
    const count = (version: string, by: string) =>
      Number(
        new RegExp(
          `gpumux_version_requests_total\\{model="shapes",version="${version}",chosen_by="${by}"\\} (\\d+)`,
        ).exec(metrics)?.[1] ?? 0,
      );
    expect(count('1', 'split') + count('2', 'split')).toBe(400 + 120);
    expect(count('2', 'request')).toBe(1);
  });
});
