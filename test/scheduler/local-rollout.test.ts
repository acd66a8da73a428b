import path from 'node:path';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../common/log.js';
import { startGateway, type RunningGatewayWithView } from '../../gateway/index.js';
import { parseGpuSpec } from '../../scheduler/inventory/gpu-spec.js';
import { orchestratorDiscovery } from '../../scheduler/orchestrators/local/discovery.js';
import { createLocalOrchestrator } from '../../scheduler/orchestrators/local/orchestrator.js';
import type { Orchestrator } from '../../scheduler/orchestrators/types.js';
import { fileProfilePersistence } from '../../scheduler/profiles/file-persistence.js';
import { createProfileStore } from '../../scheduler/profiles/store.js';
import type { Scheduler } from '../../scheduler/pass-runner.js';
import { createScheduler, type SchedulerModel } from '../../scheduler/scheduler.js';
import { drawImage } from '../helpers/images.js';
import { REPO_ROOT } from '../helpers/replica-process.js';

// A rollout with the local orchestrator: two real `shapes` replicas on two virtual 5 GiB GPUs behind a real
// gateway; the scheduler restarts with a changed model entry (max batch 4 → 2, as a `helm upgrade` of a spec
// field would) and every replica is replaced — copy first on its own GPU — while clients keep sending.

const GiB = 1024 ** 3;
const logger = createLogger(
  { test: 'local-rollout' },
  process.env.DEBUG_ROLLOUT ? undefined : () => undefined,
);

const shapes = (maxBatch: number): SchedulerModel => ({
  name: 'shapes',
  version: '1',
  declaredBytes: 2 * GiB,
  maxBatch,
  manifest: path.join(REPO_ROOT, 'models/shapes'),
  minReplicas: 2,
  maxReplicas: 2,
  targetInFlightPerReplica: 2,
});

describe('rollout with the local orchestrator (real replicas, real gateway)', () => {
  let orchestrator: Orchestrator;
  let gateway: RunningGatewayWithView;
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'gpumux-rollout-'));
    orchestrator = createLocalOrchestrator({ logger, replicaArgs: ['--threads', '1'], stopGraceMs: 5000 });
    await orchestrator.start();
    gateway = await startGateway({
      port: 0,
      adminPort: 0,
      host: '127.0.0.1',
      discovery: orchestratorDiscovery(orchestrator),
      models: ['shapes'],
      config: { pollInterval: 200 },
      logger,
    });
  });
  afterAll(async () => {
    await gateway?.close();
    await orchestrator?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const scheduler = (maxBatch: number): Scheduler =>
    createScheduler({
      models: [shapes(maxBatch)],
      inventory: () => Promise.resolve(parseGpuSpec('2x5GiB', { virtual: true, product: 'virtual' })),
      orchestrator,
      profiles: createProfileStore({ persistence: fileProfilePersistence(path.join(dir, 'profiles.json')) }),
      demand: null,
      drainTimeoutMs: 5000,
      logger,
    });
  const argsOf = (): string[] => orchestrator.replicas().map((r) => `${r.id}:${r.specHash}`);
  const readyCount = (): number => orchestrator.replicas().filter((r) => r.phase === 'ready').length;
  async function waitFor(what: string, check: () => boolean, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!check()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${argsOf().join(', ')}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  it('changing a spec field rolls both replicas with no request failed', async () => {
    const before = scheduler(4);
    before.start(300);
    await waitFor('two ready', () => readyCount() === 2, 120_000);
    const oldIds = orchestrator.replicas().map((r) => r.id);
    await before.stop(); // the scheduler restarts with the new spec; the replicas keep serving

    const jpeg = await drawImage({
      width: 320,
      height: 240,
      rects: [{ box: [40, 60, 140, 130], color: 'red' }],
    });
    const statuses = new Map<number, number>();
    let sending = true;
    const client = (async () => {
      while (sending) {
        const res = await fetch(`${gateway.url}/v1/models/shapes/detect`, {
          method: 'POST',
          body: jpeg,
          headers: { 'content-type': 'image/jpeg' },
        }).catch(() => null);
        const status = res?.status ?? 0;
        if (res) await res.arrayBuffer();
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
      }
    })();

    const after = scheduler(2);
    after.start(300);
    try {
      await waitFor(
        'both replaced',
        () => {
          const rs = orchestrator.replicas();
          return rs.length === 2 && rs.every((r) => !oldIds.includes(r.id) && r.phase === 'ready');
        },
        180_000,
      );
      const plan = await after.reconcile();
      expect(plan.rollouts).toEqual([]);
    } finally {
      sending = false;
      await client;
      await after.stop();
    }
    // each on its own GPU still (the copy went beside its original), and not one request failed
    expect(
      orchestrator
        .replicas()
        .map((r) => r.gpuIndex)
        .sort(),
    ).toEqual([0, 1]);
    expect([...statuses.keys()]).toEqual([200]);
    expect(statuses.get(200)).toBeGreaterThan(10);
  }, 300_000);
});
