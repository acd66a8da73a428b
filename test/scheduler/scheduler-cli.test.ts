import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { REPLICA_SELECTOR } from '../../scheduler/orchestrators/kubernetes/pod-template.js';
import { spawnCli } from '../helpers/cli-process.js';
import { startKubeApiServer, type KubeApiServer } from '../helpers/kube-api-server.js';
import { REPO_ROOT } from '../helpers/replica-process.js';
import { codetrDeclaredBytes } from '../helpers/codetr-footprint.js';

// `gpumux scheduler --config scheduler.yaml` as a real process: YAML config, pod template file, kubeconfig.

describe('gpumux scheduler (process)', () => {
  let api: KubeApiServer;
  let dir: string;
  let proc: ChildProcess | undefined;

  beforeEach(async () => {
    api = await startKubeApiServer();
    api.addNode('gpu-1', {
      'nvidia.com/gpu.count': '1',
      'nvidia.com/gpu.memory': '24564',
      'nvidia.com/gpu.product': 'NVIDIA-GeForce-RTX-4090',
    });
    dir = await mkdtemp(path.join(os.tmpdir(), 'gpumux-sched-'));
  });
  afterEach(async () => {
    if (proc && proc.exitCode === null) proc.kill('SIGKILL');
    await api.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('reads its YAML, creates the planned pods and serves /v1/plan, /healthz, /metrics', async () => {
    await writeFile(
      path.join(dir, 'kubeconfig'),
      `apiVersion: v1\nkind: Config\nclusters: [{name: t, cluster: {server: "${api.url}", insecure-skip-tls-verify: true}}]\nusers: [{name: t, user: {}}]\ncontexts: [{name: t, context: {cluster: t, user: t, namespace: gpumux}}]\ncurrent-context: t\n`,
    );
    await writeFile(
      path.join(dir, 'replica-pod.yaml'),
      'apiVersion: v1\nkind: Pod\nmetadata: {}\nspec:\n  runtimeClassName: nvidia\n  containers:\n    - name: replica\n      image: gpumux:test\n',
    );
    await writeFile(
      path.join(dir, 'scheduler.yaml'),
      [
        'policy: binpack',
        'reserve: 512MiB',
        'models:',
        `  - name: codetr`,
        `    manifest: ${path.join(REPO_ROOT, 'models/codetr')}`,
        '    minReplicas: 2',
        '    maxReplicas: 2',
        'demand: { interval: 200ms }',
        'orchestrator:',
        '  namespace: gpumux',
        `  replicaTemplate: ${path.join(dir, 'replica-pod.yaml')}`,
        '  replicaPort: 1',
        'leaderElection: { leaseDuration: 3s, renewDeadline: 2s, retryPeriod: 200ms }',
      ].join('\n'),
    );
    proc = spawnCli(
      ['scheduler', '--config', path.join(dir, 'scheduler.yaml'), '--http-port', '0', '--host', '127.0.0.1'],
      { KUBECONFIG: path.join(dir, 'kubeconfig'), POD_NAME: 'sched-0' },
    );
    let log = '';
    proc.stderr!.setEncoding('utf8').on('data', (s: string) => (log += s));
    const deadline = Date.now() + 30_000;
    while (!/"msg":"scheduler listening"/.test(log)) {
      if (Date.now() > deadline || proc.exitCode !== null)
        throw new Error(`scheduler did not start:\n${log}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const url = /"msg":"scheduler listening"[^\n]*"url":"([^"]+)"/.exec(log)![1]!;
    // One GPU: the first pod starts; the second waits until the first is ready (footprint measurement).
    while (api.list('pods', 'gpumux', REPLICA_SELECTOR).length < 1) {
      if (Date.now() > deadline) throw new Error(`no pod created:\n${log}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    api.runPods('gpumux', REPLICA_SELECTOR);
    while (api.list('pods', 'gpumux', REPLICA_SELECTOR).length < 2) {
      if (Date.now() > deadline) throw new Error(`second pod not created:\n${log}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const plan = (await (await fetch(`${url}/v1/plan`)).json()) as {
      policy: string;
      memoryUtilization: number;
    };
    expect(plan.policy).toBe('binpack');
    expect(plan.memoryUtilization).toBeCloseTo((2 * codetrDeclaredBytes(1)) / (24564 * 2 ** 20), 5);
    expect(await (await fetch(`${url}/healthz`)).json()).toEqual({
      status: 'ok',
      leader: true,
      planned: true,
    });
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toMatch(/gpumux_scheduler_actions_total\{type="create",model="codetr"\} 2/);
    expect(api.get('leases', 'gpumux', 'gpumux-scheduler')?.spec).toMatchObject({
      holderIdentity: 'sched-0',
    });

    proc.kill('SIGTERM');
    const [code] = (await once(proc, 'exit')) as [number | null];
    expect(code).toBe(0);
    // It released the lease on the way out.
    expect(api.get('leases', 'gpumux', 'gpumux-scheduler')?.spec).toMatchObject({ holderIdentity: '' });
  });
});
