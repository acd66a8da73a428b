import { Hono } from 'hono';
import type { Manifest } from '../../../models/manifest/schema.js';
import type { InferenceStats } from '../../metrics/inference-stats.js';
import type { ReplicaEnv } from '../env.js';
import type { Lifecycle } from '../lifecycle.js';
import { assertServedModel } from '../model.js';
import { endpoint } from '../request-tracking.js';

/** Triton's repository states for a replica's lifecycle state. */
const REPOSITORY_STATE = {
  loading: 'LOADING',
  warming: 'LOADING',
  ready: 'READY',
  draining: 'UNLOADING',
  failed: 'UNAVAILABLE',
} as const;

/**
 * Triton's statistics extension (`GET /v2/models[/{m}[/versions/{v}]]/stats` → `{ model_stats: [...] }`) and
 * its repository index (`POST /v2/repository/index`, body `{ ready?: boolean }` → `[{ name, version, state,
 * reason }]`) for the one model version this replica serves. Mount before the v2 routes: `/v2/models/stats`
 * would otherwise read as the metadata of a model called "stats".
 */
export function statsRoutes({
  manifest,
  stats,
  lifecycle,
}: {
  manifest: Manifest;
  stats: InferenceStats;
  lifecycle: Pick<Lifecycle, 'state'>;
}): Hono<ReplicaEnv> {
  const app = new Hono<ReplicaEnv>();
  const answer = () => ({ model_stats: [stats.snapshot()] });
  app.get('/v2/models/stats', endpoint('v2_model_stats'), (c) => c.json(answer()));
  for (const path of ['/v2/models/:model/stats', '/v2/models/:model/versions/:version/stats']) {
    app.get(path, endpoint('v2_model_stats'), (c) => {
      assertServedModel(manifest, c.req.param('model') ?? '', c.req.param('version'));
      return c.json(answer());
    });
  }
  app.post('/v2/repository/index', endpoint('v2_repository_index'), async (c) => {
    const body = (await c.req.json().catch(() => ({}))) as { ready?: unknown };
    const state = lifecycle.state();
    const entry = {
      name: manifest.name,
      version: manifest.version,
      state: REPOSITORY_STATE[state],
      reason: state === 'failed' ? 'the model failed to load' : '',
    };
    return c.json(body.ready === true && state !== 'ready' ? [] : [entry]);
  });
  return app;
}
