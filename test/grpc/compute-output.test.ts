import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { drawImage, drawPixels } from '../helpers/images.js';
import { startReplica, type ReplicaProcess } from '../helpers/replica-process.js';
import { grpcClients, type TestClients } from './client.js';
import { grpcAddressOf } from './replica-address.js';

// Triton's compute_output measured for real on a replica process (models/shapes): post-processing a detect,
// joining and encoding a v2 infer's outputs (gRPC answers through the same REST path).

let replica: ReplicaProcess;
let client: TestClients;
beforeAll(async () => {
  replica = await startReplica({ args: ['--grpc-port', '0'] });
  client = grpcClients(grpcAddressOf(replica));
});
afterAll(async () => {
  client?.close();
  if (replica) expect((await replica.stop()).code).toBe(0);
});

interface Duration {
  count: number;
  ns: number;
}
const computeOutput = async (): Promise<Duration> => {
  const body = (await (await fetch(`${replica.url}/v2/models/shapes/stats`)).json()) as {
    model_stats: { inference_stats: { compute_output: Duration } }[];
  };
  return body.model_stats[0]!.inference_stats.compute_output;
};

describe('replica statistics: compute_output', () => {
  it('counts every answered frame with the time its outputs took, over gRPC and REST', async () => {
    expect(await computeOutput()).toEqual({ count: 0, ns: 0 });
    const pixels = Buffer.from(drawPixels({ width: 640, height: 480, rects: [] }).data);
    for (let i = 0; i < 2; i++)
      await client.inference.ModelInfer({
        model_name: 'shapes',
        inputs: [{ name: 'images', datatype: 'UINT8', shape: [1, 480, 640, 3] }],
        raw_input_contents: [pixels],
      });
    const afterGrpc = await computeOutput();
    expect(afterGrpc.count).toBe(2);
    expect(afterGrpc.ns).toBeGreaterThan(0);

    const jpeg = await drawImage({
      width: 640,
      height: 480,
      rects: [{ box: [10, 10, 200, 200], color: 'red' }],
    });
    const res = await fetch(`${replica.url}/v1/models/shapes/detect`, {
      method: 'POST',
      headers: { 'content-type': 'image/jpeg' },
      body: jpeg,
    });
    expect(res.status).toBe(200);
    const afterDetect = await computeOutput();
    expect(afterDetect.count).toBe(3);
    expect(afterDetect.ns).toBeGreaterThan(afterGrpc.ns);
  });
});
