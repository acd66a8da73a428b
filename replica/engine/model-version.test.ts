import { describe, expect, it } from 'vitest';
import { createEngine } from './create-engine.js';

// `gpumux replica --model-version 2`: the scheduler pins each version it runs side by side; the replica
// serves and reports that version (its /v1/stats is where the gateway learns which version a replica is).
describe('engine: model version override', () => {
  it("serves and reports the pinned version instead of the manifest's", async () => {
    const engine = createEngine({
      modelDir: 'models/shapes',
      device: 'cpu',
      node: 'local',
      threads: 1,
      replicaId: 'pinned',
      modelVersion: '2',
    });
    try {
      expect(engine.manifest.version).toBe('2');
      await engine.start();
      expect(engine.stats()).toMatchObject({ model: 'shapes', version: '2', ready: true });
    } finally {
      await engine.close();
    }
  });
});
