import { describe, expect, it } from 'vitest';
import { createLogger } from '../common/log.js';
import { memoryOrchestrator } from '../test/helpers/memory-orchestrator.js';
import { parseGpuSpec } from './inventory/gpu-spec.js';
import { createProfileStore } from './profiles/store.js';
import { createScheduler, type SchedulerModel } from './scheduler.js';

const GiB = 1024 ** 3;
const small: SchedulerModel = {
  name: 'small',
  version: '1',
  declaredBytes: GiB,
  manifest: '/models/small',
  minReplicas: 4,
  maxReplicas: 4,
  targetInFlightPerReplica: 2,
};

describe('the spec hash in a scheduler pass', () => {
  it('is worked out once per pass, not once per replica: the runtime spec is read once a pass', async () => {
    const mem = memoryOrchestrator({
      initial: [0, 1, 2, 3].map((i) => ({
        id: `s${i}`,
        model: 'small',
        gpuIndex: i % 2,
        phase: 'ready' as const,
        footprintBytes: GiB,
        specHash: 'from-an-older-spec',
      })),
    });
    let reads = 0;
    mem.orchestrator.runtimeSpec = () => (reads++, { replicaArgs: ['--threads', '1'] });
    const scheduler = createScheduler({
      models: [small],
      inventory: () => Promise.resolve(parseGpuSpec('2x24GiB')),
      orchestrator: mem.orchestrator,
      profiles: createProfileStore(),
      logger: createLogger({}, () => undefined),
    });
    try {
      const view = await scheduler.reconcile();
      expect(reads).toBe(1);
      // still compared with every replica's: all four were made from another spec
      expect(view.rollouts).toMatchObject([{ model: 'small', reason: 'spec changed', total: 4 }]);
      await scheduler.reconcile();
      expect(reads).toBe(2);
    } finally {
      await scheduler.stop();
    }
  });
});
