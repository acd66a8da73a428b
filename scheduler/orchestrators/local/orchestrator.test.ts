import { describe, expect, it } from 'vitest';
import { createLogger } from '../../../common/log.js';
import type { OrchestratorEvent, ReplicaFailure } from '../types.js';
import { codetrOnGpu2 } from '../../../test/scheduler/replica-request.js';
import { createLocalOrchestrator } from './orchestrator.js';

const request = codetrOnGpu2;

describe('local orchestrator failure classification (real child processes)', () => {
  /** A child that dies as a replica does on CUDA OOM: its log line on stderr (maybe), then exit code 3. */
  async function deathOf(script: string): Promise<ReplicaFailure> {
    const orchestrator = createLocalOrchestrator({
      logger: createLogger({}, () => undefined),
      launcher: { command: process.execPath, args: ['-e', script], cwd: process.cwd() },
      restartBaseMs: 60_000, // no restart within the test
    });
    try {
      const failed = new Promise<ReplicaFailure>((resolve) =>
        orchestrator.on((e: OrchestratorEvent) => e.type === 'failed' && resolve(e.failure)),
      );
      await orchestrator.create({ ...request, virtual: true });
      return await failed;
    } finally {
      await orchestrator.stop();
    }
  }

  it("the replica's `CUDA out of memory` line and exit code 3 are an OOM", async () => {
    const line = JSON.stringify({
      level: 'error',
      msg: 'CUDA out of memory: model codetr:1 on cuda:0 (node ws, GPU 2); exiting with code 3: ...',
    });
    const failure = await deathOf(`process.stderr.write(${JSON.stringify(line + '\n')}); process.exit(3)`);
    expect(failure).toMatchObject({ kind: 'oom', exitCode: 3 });
    expect(failure.message).toContain('CUDA out of memory');
  });

  it('exit code 3 with nothing logged is still an OOM; exit code 1 is a crash', async () => {
    await expect(deathOf('process.exit(3)')).resolves.toMatchObject({ kind: 'oom', exitCode: 3 });
    await expect(deathOf('process.exit(1)')).resolves.toMatchObject({ kind: 'crash', exitCode: 1 });
  });
});
