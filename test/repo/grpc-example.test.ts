import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/cli-process.js';
import { startUpStack, type UpStack } from '../helpers/up-process.js';

// The README's gRPC client example, run as a user runs it against `gpumux up`.
describe('docs/examples/grpc-infer.mjs', () => {
  let stack: UpStack;
  beforeAll(async () => {
    stack = await startUpStack(['--gpus', '1x5GiB', '--models', 'shapes=1', '--grpc-port', '0']);
  }, 150_000);
  afterAll(async () => {
    if (stack && stack.process.exitCode === null) {
      stack.process.kill('SIGINT');
      await new Promise((r) => stack.process.once('exit', r));
    }
    await stack?.cleanup();
  }, 30_000);

  it("finds the red rectangle through the gateway's KServe v2 gRPC", async () => {
    const address = /grpc:\s+(\S+)/.exec(stack.stdout())![1]!;
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [path.join(REPO_ROOT, 'docs', 'examples', 'grpc-infer.mjs'), address],
      { cwd: REPO_ROOT },
    );
    expect(stdout).toContain('inputs images UINT8 [-1,-1,-1,3]');
    expect(stdout).toContain('boxes FP32 [1,3,4] [ 100, 120, 300, 260 ]');
    expect(stdout).toContain('labels INT64 [1,3] [ 0, 1, 2 ]');
  });
});
