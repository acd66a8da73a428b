import type { sendUnaryData, ServerUnaryCall } from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { startGrpcServer, type RunningGrpcServer } from '../../common/grpc/server.js';
import { waitFor } from '../gateway/gateway-harness.js';
import { grpcClients, type TestClients } from './client.js';

/**
 * A gRPC server's close() tells whether its calls finished within the grace (tryShutdown's callback) or were
 * cut (forceShutdown): the gateway's shutdown log reports it from that event, not from how long close took.
 */
const answers: (() => void)[] = [];
let server: RunningGrpcServer | undefined;
let client: TestClients | undefined;
afterEach(async () => {
  client?.close();
  await server?.close(0);
  answers.length = 0;
});

/** A server whose ServerLive calls wait until the test answers them. */
async function start(): Promise<{ server: RunningGrpcServer; client: TestClients }> {
  server = await startGrpcServer({
    port: 0,
    host: '127.0.0.1',
    maxMessageBytes: 1 << 20,
    inference: {
      ServerLive: (_call: ServerUnaryCall<object, object>, callback: sendUnaryData<object>) =>
        answers.push(() => callback(null, { live: true })),
    },
    health: {},
  });
  client = grpcClients(server.address);
  return { server, client };
}

describe('RunningGrpcServer.close', () => {
  it('resolves true once the calls in flight finished within the grace', async () => {
    const { server, client } = await start();
    const call = client.inference.ServerLive({});
    await waitFor(() => answers.length === 1);
    setTimeout(() => answers[0]!(), 100);
    const t0 = performance.now();
    expect(await server.close(5000)).toBe(true);
    expect(performance.now() - t0).toBeLessThan(2000);
    expect(await call).toEqual({ live: true });
  });

  it('resolves false when a call outlived the grace and was cut', async () => {
    const { server, client } = await start();
    const call = client.inference.ServerLive({}).catch((err: unknown) => err);
    await waitFor(() => answers.length === 1);
    const t0 = performance.now();
    expect(await server.close(200)).toBe(false);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(190);
    expect(await call).toBeInstanceOf(Error);
  });
});
