import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClusterView, PlanView } from '../../gateway/operator/cluster-view.js';
import { drawImage } from '../helpers/images.js';
import { startUpStack, type UpStack } from '../helpers/up-process.js';

// Two versions of one model through the real local orchestrator: `gpumux up --models shapes@1=1,shapes@2=1`
// starts a replica of each (pinned with --model-version), the gateway's discovery learns each replica's
// version from its /v1/stats, and a request for version 2 reaches version 2.

describe('gpumux up: two versions of one model', () => {
  let up: ChildProcess;
  let stdout = '';
  let stack: UpStack | undefined;
  const urls: Record<string, string> = {};

  beforeAll(async () => {
    stack = await startUpStack(['--gpus', '2x5GiB', '--models', 'shapes@1=1,shapes@2=1', '--no-grpc']);
    up = stack.process;
    stdout = stack.stdout();
    for (const name of ['clients', 'operators', 'scheduler']) urls[name] = stack.url(name);
  }, 150_000);

  afterAll(async () => {
    if (up && up.exitCode === null) {
      up.kill('SIGINT');
      await once(up, 'exit');
    }
    await stack?.cleanup();
  });

  it('starts a replica of each version, seen by the gateway as that version, and routes by version', async () => {
    const ready = /ready: (.*)/.exec(stdout)![1]!.split(' ');
    expect(ready.map((r) => r.replace(/@.*/, '')).sort()).toEqual(['shapes:1', 'shapes:2']);

    // The gateway polls the replicas: each version's row once both replicas reported.
    const deadline = Date.now() + 10_000;
    let view: ClusterView;
    for (;;) {
      view = (await (await fetch(`${urls.operators}/v1/cluster`)).json()) as ClusterView;
      if (view.models.filter((m) => m.readyReplicas === 1).length === 2 || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(view.models.map((m) => [m.name, m.version, m.readyReplicas])).toEqual([
      ['shapes', '1', 1],
      ['shapes', '2', 1],
    ]);
    const replicas = view.gpus.flatMap((g) => g.replicas);
    expect(replicas.map((r) => [r.version, r.id.replace(/-local-.*/, '')]).sort()).toEqual([
      ['1', 'shapes-v1'],
      ['2', 'shapes-v2'],
    ]);

    const plan = (await (await fetch(urls.scheduler!)).json()) as PlanView;
    expect(plan.gpus!.flatMap((g) => (g.models ?? []).map((m) => m.model)).sort()).toEqual([
      'shapes@1',
      'shapes@2',
    ]);

    const jpeg = await drawImage({
      width: 640,
      height: 480,
      rects: [{ box: [100, 120, 300, 260], color: 'red' }],
    });
    for (const version of ['1', '2']) {
      const res = await fetch(`${urls.clients}/v1/models/shapes/versions/${version}/detect`, {
        method: 'POST',
        body: jpeg,
        headers: { 'content-type': 'image/jpeg' },
      });
      expect(res.status).toBe(200);
    }
    const v3 = await fetch(`${urls.clients}/v1/models/shapes/versions/3/detect`, {
      method: 'POST',
      body: jpeg,
      headers: { 'content-type': 'image/jpeg' },
    });
    expect(v3.status).toBe(404);
  });
});
