import { describe, expect, it } from 'vitest';
import { drawImage } from '../../test/helpers/images.js';
import { engineFactory } from './create-engine.js';
import { FAULT_CUDA_OOM_AFTER_BATCHES } from './fault-injection.js';
import { loadSession } from './load-session.js';
import type { EngineFatal } from './types.js';

/**
 * What tests may replace (`EngineDeps`) is what the engine uses: the environment it is given, not the
 * process's, and a session opening that names its thread rather than forcing one as a side effect.
 */
const SHAPES = { modelDir: 'models/shapes', device: 'cpu', node: 'local', threads: 1 } as const;

describe('EngineDeps', () => {
  it("the test-only CUDA OOM fault comes from deps.env, not the process's environment", async () => {
    expect(process.env[FAULT_CUDA_OOM_AFTER_BATCHES]).toBeUndefined();
    const fatal: EngineFatal[] = [];
    const engine = engineFactory({ env: { [FAULT_CUDA_OOM_AFTER_BATCHES]: '0' } })({
      ...SHAPES,
      replicaId: 'env-fault',
      hooks: { onFatal: (f) => fatal.push(f) },
    });
    try {
      await engine.start(); // warm-up runs the session directly, not through the batcher: unaffected
      expect(engine.state).toBe('ready');
      await expect(engine.detect(await drawImage({ width: 640, height: 480 }))).rejects.toMatchObject({
        code: 'NOT_READY',
      });
      expect(engine.state).toBe('failed');
      expect(fatal.map((f) => f.reason)).toEqual(['cuda-out-of-memory']);
    } finally {
      await engine.close();
    }
  });

  it('an injected session opening that contradicts sessionThread is refused, not silently obeyed', () => {
    const factory = engineFactory({ session: { thread: 'main', load: loadSession } });
    expect(() => factory({ ...SHAPES, replicaId: 'contradiction', sessionThread: 'worker' })).toThrow(
      /contradicts the injected session opening/,
    );
    expect(factory({ ...SHAPES, replicaId: 'agreed', sessionThread: 'main' }).state).toBe('loading');
  });
});
