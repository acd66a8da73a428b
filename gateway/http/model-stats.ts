import { Hono } from 'hono';
import { GpumuxError } from '../../common/errors.js';
import type { Inventory } from '../inventory/inventory.js';
import { servable, type ReplicaRecord } from '../inventory/records.js';
import type { ModelStatistics, StatisticDuration } from '../../common/grpc/messages.js';

/**
 * Triton's statistics and repository-index extensions across the cluster: `GET /v2/models[/{m}[/versions/
 * {v}]]/stats` asks every replica of the model(s) for its own statistics and sums them per model version
 * (counts and durations add; last_inference is the latest); `POST /v2/repository/index` lists every model
 * version the inventory knows, READY when a replica can serve it.
 */

const add = (a: StatisticDuration | undefined, b: StatisticDuration): StatisticDuration => ({
  count: (a?.count ?? 0) + b.count,
  ns: (a?.ns ?? 0) + b.ns,
});

/** Sums replicas' statistics of the same model version. */
export function mergeStatistics(all: readonly ModelStatistics[]): ModelStatistics[] {
  const byKey = new Map<string, ModelStatistics>();
  for (const s of all) {
    const key = `${s.name}\u0000${s.version}`;
    const m = byKey.get(key);
    if (!m) {
      byKey.set(key, structuredClone(s));
      continue;
    }
    m.last_inference = Math.max(m.last_inference, s.last_inference);
    m.inference_count += s.inference_count;
    m.execution_count += s.execution_count;
    for (const k of Object.keys(s.inference_stats) as (keyof ModelStatistics['inference_stats'])[])
      m.inference_stats[k] = add(m.inference_stats[k], s.inference_stats[k]);
    for (const b of s.batch_stats) {
      const mb = m.batch_stats.find((x) => x.batch_size === b.batch_size);
      if (!mb) m.batch_stats.push(structuredClone(b));
      else {
        mb.compute_input = add(mb.compute_input, b.compute_input);
        mb.compute_infer = add(mb.compute_infer, b.compute_infer);
        mb.compute_output = add(mb.compute_output, b.compute_output);
      }
    }
    m.batch_stats.sort((a, b) => a.batch_size - b.batch_size);
  }
  return [...byKey.values()].sort(
    (a, b) => a.name.localeCompare(b.name) || a.version.localeCompare(b.version),
  );
}

async function replicaStatistics(r: ReplicaRecord): Promise<ModelStatistics[]> {
  try {
    const res = await r.pool.request({ path: '/v2/models/stats', method: 'GET', headersTimeout: 5000 });
    if (res.statusCode !== 200) {
      await res.body.dump();
      return [];
    }
    return ((await res.body.json()) as { model_stats?: ModelStatistics[] }).model_stats ?? [];
  } catch {
    return []; // a replica that cannot answer adds nothing (it is being ejected or is gone)
  }
}

export function modelStatsRoutes({ inventory }: { inventory: Inventory }): Hono {
  const app = new Hono();
  const stats = async (model: string | null, version: string | null) => {
    const replicas = model === null ? [...inventory.records()] : inventory.byModel(model);
    if (model !== null && replicas.length === 0)
      throw new GpumuxError('MODEL_NOT_FOUND', `model ${model} is not served here`); // v2 shape: the app's onError
    const merged = mergeStatistics((await Promise.all(replicas.map(replicaStatistics))).flat()).filter(
      (s) => (model === null || s.name === model) && (version === null || s.version === version),
    );
    if (version !== null && merged.length === 0)
      throw new GpumuxError('VERSION_NOT_FOUND', `model ${model} has no version ${version} here`);
    return Response.json({ model_stats: merged });
  };
  app.get('/v2/models/stats', () => stats(null, null));
  app.get('/v2/models/:model/stats', (c) => stats(c.req.param('model'), null));
  app.get('/v2/models/:model/versions/:version/stats', (c) =>
    stats(c.req.param('model'), c.req.param('version')),
  );
  app.post('/v2/repository/index', async (c) => {
    const body = (await c.req.json().catch(() => ({}))) as { ready?: unknown };
    const index = new Map<string, { name: string; version: string; state: string; reason: string }>();
    for (const r of inventory.records()) {
      const s = r.measurement.stats;
      if (!s) continue;
      const key = `${s.model}\u0000${s.version}`;
      const ready = servable(r);
      const known = index.get(key);
      if (!known || (ready && known.state !== 'READY'))
        index.set(key, {
          name: s.model,
          version: s.version,
          state: ready ? 'READY' : 'UNAVAILABLE',
          reason: ready ? '' : 'no ready replica',
        });
    }
    const all = [...index.values()].sort(
      (a, b) => a.name.localeCompare(b.name) || a.version.localeCompare(b.version),
    );
    return c.json(body.ready === true ? all.filter((e) => e.state === 'READY') : all);
  });
  return app;
}
