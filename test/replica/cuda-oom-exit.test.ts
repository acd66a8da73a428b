import { afterEach, describe, expect, it } from 'vitest';
import { CUDA_OOM_MARKER, REPLICA_EXIT_CODES } from '../../replica/exit-codes.js';
import { drawImage } from '../helpers/images.js';
import { startReplica, type ReplicaProcess } from '../helpers/replica-process.js';

/** The real `gpumux replica` process down its CUDA-OOM exit, reached through the test-only fault injection. */

let replica: ReplicaProcess | undefined;
afterEach(async () => {
  await replica?.stop('SIGKILL', 1000);
  replica = undefined;
});

describe('gpumux replica on CUDA out of memory (fault injection)', () => {
  it('answers the failing batch 503, logs the termination message and exits with code 3', async () => {
    replica = await startReplica({
      model: 'models/shapes',
      args: ['--max-batch', '1'],
      env: { GPUMUX_FAULT_CUDA_OOM_AFTER_BATCHES: '1' },
    });
    const image = await drawImage({ width: 64, height: 48, format: 'png', rects: [] });
    const detect = () =>
      fetch(`${replica!.url}/v1/models/shapes/detect`, {
        method: 'POST',
        body: image,
        headers: { 'content-type': 'image/png' },
      });
    expect((await detect()).status).toBe(200); // the one batch let through
    const failed = await detect(); // answered before the process exits
    expect(failed.status).toBe(503);
    expect(await failed.json()).toMatchObject({ error: { code: 'NOT_READY' } });

    const exit = await replica.exited;
    expect(exit).toEqual({ code: REPLICA_EXIT_CODES.cudaOutOfMemory, signal: null });
    const termination = replica.logs().find((l) => String(l.msg).startsWith(CUDA_OOM_MARKER));
    expect(termination).toMatchObject({ level: 'error', exitCode: 3 });
    expect(String(termination!.msg)).toMatch(/^CUDA out of memory: model shapes\S* on cpu/);
  }, 90_000);
});
