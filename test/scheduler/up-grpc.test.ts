import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { drawPixels } from '../helpers/images.js';
import { startUpStack, type UpStack } from '../helpers/up-process.js';
import { grpcClients } from '../grpc/client.js';

// `gpumux up` starts the gateway's gRPC port and each replica's, and prints them: a real child process with
// one shapes replica on one virtual GPU, ports 0 (so gRPC takes any free port too).

describe('gpumux up: gRPC', () => {
  let up: ChildProcess;
  let stdout = '';
  let stack: UpStack | undefined;

  beforeAll(async () => {
    stack = await startUpStack(['--gpus', '1x5GiB', '--models', 'shapes=1']);
    up = stack.process;
    stdout = stack.stdout();
  }, 150_000);

  afterAll(async () => {
    if (up && up.exitCode === null) {
      up.kill('SIGINT');
      await once(up, 'exit');
    }
    await stack?.cleanup();
  });

  it('prints the gateway gRPC address and each replica gRPC address; both answer a ModelInfer', async () => {
    const gateway = /^ {2}grpc: +(\S+) {2}\(KServe v2 gRPC\)$/m.exec(stdout)?.[1];
    expect(gateway).toMatch(/^127\.0\.0\.1:\d+$/);
    const replicas = /^ {2}replica grpc: (.*)$/m.exec(stdout)?.[1]?.split(' ') ?? [];
    expect(replicas).toEqual([expect.stringMatching(/^shapes@local\/0=127\.0\.0\.1:\d+$/)]);
    const pixels = Buffer.from(drawPixels({ width: 640, height: 480, rects: [] }).data);
    for (const address of [gateway!, replicas[0]!.split('=')[1]!]) {
      const client = grpcClients(address);
      try {
        // The gateway learns of the replica by polling it: ready soon after the stack's `ready:` line.
        const deadline = Date.now() + 10_000;
        while (!(await client.inference.ServerReady({})).ready && Date.now() < deadline)
          await new Promise((r) => setTimeout(r, 100));
        expect(await client.inference.ServerReady({})).toEqual({ ready: true });
        const res = await client.inference.ModelInfer({
          model_name: 'shapes',
          inputs: [{ name: 'images', datatype: 'UINT8', shape: [1, 480, 640, 3] }],
          raw_input_contents: [pixels],
        });
        expect(res).toMatchObject({ model_name: 'shapes', model_version: '1' });
      } finally {
        client.close();
      }
    }
  });
});
