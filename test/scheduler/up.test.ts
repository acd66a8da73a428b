import { execFileSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClusterView, PlanView } from '../../gateway/operator/cluster-view.js';
import { drawImage } from '../helpers/images.js';
import { startUpStack, type UpStack } from '../helpers/up-process.js';

// `gpumux up` (npm start's stack) as a real child process on ports 0, with its defaults: scheduler + four
// replica processes (shapes ×2, shapes-detr ×2) on two virtual 5 GiB GPUs + gateway.

/**
 * Replica processes started by `pid` (its other children, e.g. tsx's esbuild service, do not count); with
 * `model`, only that model's (its manifest folder ends the `--model` argument).
 */
const childrenOf = (pid: number, model?: string): number[] => {
  try {
    return execFileSync('ps', ['-o', 'pid=,args=', '--ppid', String(pid)], { encoding: 'utf8' })
      .split('\n')
      .filter((line) => / replica --model /.test(line))
      .filter((line) => !model || new RegExp(`--model \\S*/${model} `).test(line))
      .map((line) => Number(line.trim().split(/\s+/)[0]))
      .filter((n) => n > 0);
  } catch {
    return [];
  }
};
const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

async function until<T>(
  what: string,
  fn: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs = 60_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('gpumux up', () => {
  let up: ChildProcess;
  let stdout = '';
  let stack: UpStack | undefined;
  const urls: Record<string, string> = {};

  beforeAll(async () => {
    stack = await startUpStack([], { env: { ...process.env, GPUMUX_LOG_LEVEL: 'info' } });
    up = stack.process;
    stdout = stack.stdout();
    for (const name of ['clients', 'operators', 'scheduler'])
      urls[name] = stack.url(name).replace(/\/v1\/plan$/, '');
  }, 150_000);

  afterAll(async () => {
    if (up && up.exitCode === null) {
      up.kill('SIGKILL');
      for (const pid of childrenOf(up.pid!)) process.kill(pid, 'SIGKILL');
    }
    await stack?.cleanup();
  });

  const detect = async (): Promise<{
    status: number;
    body: { detections: { name: string; box: number[] }[] };
  }> => {
    const jpeg = await drawImage({
      width: 640,
      height: 480,
      rects: [{ box: [100, 120, 300, 260], color: 'red' }],
    });
    const res = await fetch(`${urls.clients}/v1/models/shapes/detect`, {
      method: 'POST',
      body: jpeg,
      headers: { 'content-type': 'image/jpeg' },
    });
    return {
      status: res.status,
      body: (await res.json()) as { detections: { name: string; box: number[] }[] },
    };
  };
  const cluster = async (): Promise<ClusterView> =>
    (await fetch(`${urls.operators}/v1/cluster`)).json() as Promise<ClusterView>;

  it('prints the URLs and uses every virtual GPU, two models packed (the default stack)', async () => {
    const ready = /ready: (.*)/.exec(stdout)![1]!.split(' ').sort();
    // Memory allows two per 5 GiB GPU; which model pairs with which follows the measured busy shares.
    expect(ready.map((r) => r.split('@')[1]).sort()).toEqual(['local/0', 'local/0', 'local/1', 'local/1']);
    expect(ready.map((r) => r.split('@')[0]).sort()).toEqual([
      'shapes',
      'shapes',
      'shapes-detr',
      'shapes-detr',
    ]);
    const plan = (await (await fetch(`${urls.scheduler}/v1/plan`)).json()) as PlanView;
    expect(plan.policy).toBe('throughput');
    // 4 × 2 GiB on 2 × 5 GiB; the seed's setup (one replica per GPU) on the same GPUs: 2 of 5 GiB, its 40 %
    expect(plan.memoryUtilization).toBeCloseTo(8 / 10, 5);
    expect(plan.seedMemoryUtilization).toBeCloseTo(2 / 5, 5);
    expect(plan.gpus!.map((g) => g.models!.reduce((n, m) => n + m.replicas, 0))).toEqual([2, 2]);
    const view = await until('gateway sees 4 ready replicas', async () => {
      const v = await cluster();
      return v.totals.readyReplicas === 4 ? v : undefined;
    });
    expect(view.gpus.map((g) => g.replicas.length)).toEqual([2, 2]);
    expect(view.totals.memoryUtilization).toBeCloseTo(0.8, 5);
    // Compute beside memory: virtual GPUs derive it from their replicas' busy shares.
    for (const g of view.gpus) {
      expect(g.computeSource).toBe('busy-ratio');
      expect(g.computeUtilization).toBeGreaterThanOrEqual(0);
    }
  });

  it('serves a detection through the gateway', async () => {
    const { status, body } = await detect();
    expect(status).toBe(200);
    expect(body.detections).toHaveLength(1);
    expect(body.detections[0]!.name).toBe('red');
    const [x1, y1, x2, y2] = body.detections[0]!.box;
    expect(
      Math.abs(x1! - 100) + Math.abs(y1! - 120) + Math.abs(x2! - 300) + Math.abs(y2! - 260),
    ).toBeLessThan(12);
  });

  it('replaces a killed replica', async () => {
    expect(childrenOf(up.pid!)).toHaveLength(4);
    const before = childrenOf(up.pid!, 'shapes');
    expect(before).toHaveLength(2);
    process.kill(before[0]!, 'SIGKILL');
    await until('a new replica process', () => {
      const now = childrenOf(up.pid!, 'shapes');
      return now.length === 2 && !now.includes(before[0]!);
    });
    await until('4 ready replicas again', async () => (await cluster()).totals.readyReplicas === 4);
    expect((await detect()).status).toBe(200);
    const metrics = await (await fetch(`${urls.scheduler}/metrics`)).text();
    expect(metrics).toMatch(/gpumux_scheduler_replica_failures_total\{model="shapes",kind="crash"\} 1/);
  });

  it('stops cleanly on SIGINT, leaving no replica process', async () => {
    const replicas = childrenOf(up.pid!);
    expect(replicas).toHaveLength(4); // as the test before left them
    up.kill('SIGINT');
    const [code] = (await once(up, 'exit')) as [number | null];
    expect(code).toBe(0);
    expect(replicas.filter(alive)).toEqual([]);
  });
});
