import { Hono } from 'hono';
import { status } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { createBodyBudget } from '../../common/http/body-budget.js';
import { reserveBody } from '../../replica/http/reserve-body.js';
import type { ReplicaEnv } from '../../replica/http/env.js';
import { startReplicaGrpc } from '../../replica/grpc/serve.js';
import { closedAfterEach, waitFor } from '../gateway/gateway-harness.js';
import { startFakeReplica } from '../gateway/fake-replica.js';
import { grpcClients } from './client.js';

/**
 * gRPC messages count in the held-body budgets as REST bodies do — the replica's (its Content-Length is the
 * message's length, not the largest body a request may send) and the gateway's (`limits.maxHeldBodyBytes`) —
 * so a flood of large messages answers RESOURCE_EXHAUSTED (gpumux-code OVERLOADED) with a Retry-After.
 */
const { defer, gateway } = closedAfterEach();

const infer = (bytes: number) => ({
  model_name: 'shapes',
  inputs: [{ name: 'images', datatype: 'UINT8', shape: [1, 1, bytes / 3, 3] }],
  raw_input_contents: [Buffer.alloc(bytes)],
});

interface CallError {
  code: number;
  metadata: { get(k: string): unknown[] };
}
const failure = (p: Promise<unknown>): Promise<CallError> =>
  p.then(
    () => ({ code: status.OK, metadata: { get: () => [] } }),
    (e: unknown) => e as CallError,
  );

describe('gRPC bodies in the held-body budgets', () => {
  it('replica: a message reserves its own length; one that does not fit is RESOURCE_EXHAUSTED', async () => {
    // The replica's REST app as far as the budget goes: a handler that holds its request until let go.
    const budget = createBodyBudget(50_000);
    const gates: (() => void)[] = [];
    const app = new Hono<ReplicaEnv>();
    app.post('/v2/models/*', reserveBody(budget, 40_000_000), async (c) => {
      await new Promise<void>((resolve) => gates.push(resolve));
      return c.json({ error: 'let go', code: 'NOT_READY' }, 503);
    });
    const server = await startReplicaGrpc({ app, port: 0, host: '127.0.0.1', maxMessageBytes: 1 << 20 });
    defer(() => server.close(0).then(() => undefined));
    const client = grpcClients(server.address);
    defer(() => client.close());

    const first = failure(client.inference.ModelInfer(infer(30_000)));
    await waitFor(() => gates.length === 1);
    // Its REST body (the JSON header + 30 000 raw bytes), not the 40 MB an unsized body would reserve.
    expect(budget.held()).toBeGreaterThan(30_000);
    expect(budget.held()).toBeLessThan(31_000);
    const refused = await failure(client.inference.ModelInfer(infer(30_000)));
    expect(refused.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(refused.metadata.get('gpumux-code')).toEqual(['OVERLOADED']);
    expect(refused.metadata.get('retry-after')).toEqual(['1']);
    const fits = failure(client.inference.ModelInfer(infer(15_000))); // 30 k + 15 k ≤ 50 k
    await waitFor(() => gates.length === 2);
    gates.splice(0).forEach((g) => g());
    expect((await first).code).toBe(status.UNAVAILABLE);
    expect((await fits).code).toBe(status.UNAVAILABLE);
    expect(budget.held()).toBe(0);
  });

  it('gateway: messages held at once are capped by limits.maxHeldBodyBytes, and given back when answered', async () => {
    const r = await startFakeReplica({ id: 'slow' });
    defer(() => r.close());
    r.mode = 'hang';
    const gw = await gateway([r], {
      grpcPort: 0,
      config: { timeout: '1500ms', limits: { maxHeldBodyBytes: 50_000 } },
    });
    const client = grpcClients(gw.grpcAddress!);
    defer(() => client.close());
    const first = failure(client.inference.ModelInfer(infer(30_000)));
    await waitFor(() => r.received.length === 1);
    const refused = await failure(client.inference.ModelInfer(infer(30_000)));
    expect(refused.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(refused.metadata.get('gpumux-code')).toEqual(['OVERLOADED']);
    expect((await first).code).toBe(status.DEADLINE_EXCEEDED);
    // The first message's bytes were given back: the same message is taken again, and reaches the replica.
    const again = failure(client.inference.ModelInfer(infer(30_000)));
    await waitFor(() => r.received.length === 2);
    expect((await again).code).toBe(status.DEADLINE_EXCEEDED);
  });
});
