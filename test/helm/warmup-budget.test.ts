import type { V1Container } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { parseSchedulerConfig } from '../../scheduler/config/load.js';
import { find, helmLint, helmTemplate, RELEASE } from './chart.js';
import { replicaTemplate } from './pod-specs.js';

/**
 * The replica's warm-up budget (replica.warmupBudgetSeconds): the startup probe allows exactly that long
 * before the kubelet restarts a replica that is not ready (its failureThreshold × periodSeconds, rounded
 * up), the liveness probe only starts after it, the replica is told (`--warmup-budget`, shown in
 * /v1/stats) and the scheduler waits as long before starting the next replica on the same GPU.
 */

const prefix = `${RELEASE}-gpumux`;

function render(set: string[] = []) {
  const objects = helmTemplate([], set);
  const pod = replicaTemplate(find(objects, 'ConfigMap', `${prefix}-replica-pod`));
  const replica = pod.spec!.containers.find((c) => c.name === 'replica') as V1Container;
  const cm = find<{ data: Record<string, string> }>(objects, 'ConfigMap', `${prefix}-scheduler`);
  const scheduler = parse(cm.data['scheduler.yaml']!) as { orchestrator: Record<string, unknown> };
  return { replica, scheduler };
}

describe('replica warm-up budget in the chart', () => {
  it('by default gives a replica 900 s to warm up: startup probe 90 × 10 s, the replica and the scheduler told', () => {
    const { replica, scheduler } = render();
    expect(replica.startupProbe).toMatchObject({
      httpGet: { path: '/v2/health/ready', port: 'http' },
      periodSeconds: 10,
      timeoutSeconds: 3,
      failureThreshold: 90,
    });
    // liveness is another endpoint the replica answers while it warms; the kubelet runs it only after startup
    expect(replica.livenessProbe?.httpGet?.path).toBe('/v2/health/live');
    expect(replica.args).toContain('--warmup-budget=900');
    expect(scheduler.orchestrator.readyTimeout).toBe('900s');
    const config = parseSchedulerConfig({
      ...scheduler,
      models: [{ name: 'shapes', manifest: 'models/shapes', declaredFootprint: '1GiB', version: '1' }],
    });
    expect(config.orchestrator.readyTimeout).toBe(900_000);
  });

  it('derives the failure threshold from the budget, rounded up to whole probe periods', () => {
    const { replica, scheduler } = render([
      'replica.warmupBudgetSeconds=1805',
      'replica.startupProbe.periodSeconds=20',
    ]);
    expect(replica.startupProbe).toMatchObject({ periodSeconds: 20, failureThreshold: 91 }); // 91 × 20 ≥ 1805
    expect(replica.args).toContain('--warmup-budget=1805');
    expect(scheduler.orchestrator.readyTimeout).toBe('1805s');
  });

  it('keeps an explicit failureThreshold', () => {
    const { replica } = render(['replica.startupProbe.failureThreshold=7']);
    expect(replica.startupProbe).toMatchObject({ periodSeconds: 10, failureThreshold: 7 });
  });

  it("tells the scheduler replica.maxBatch, so it counts that batch's declared footprint", () => {
    const { replica, scheduler } = render(['replica.maxBatch=2']);
    expect(replica.args).toContain('--max-batch=2');
    const models = (scheduler as unknown as { models: { maxBatch?: number }[] }).models;
    expect(models.map((m) => m.maxBatch)).toEqual(models.map(() => 2));
    expect(render().scheduler).not.toHaveProperty('models.0.maxBatch');
  });

  it('refuses a budget that is not a whole number of seconds ≥ 1', () => {
    expect(helmLint([], ['replica.warmupBudgetSeconds=0']).status).not.toBe(0);
  });
});
