import { Pool } from 'undici';
import { ReplicaStats } from '../../replica/contract.js';
import type { Logger } from '../../common/log.js';
import type { Clock, ReplicaEndpoint } from '../types.js';
import { aggregateGpus, type GpuRecord } from './gpus.js';
import { createOutlierDetector, type OutlierDetector, type OutlierOptions } from './outlier.js';
import { gpuKeyOf, modelKeyOf, newRecord, type ReplicaRecord } from './records.js';

/** Which limit a body is held to: an encoded image (detect) or v2 tensors (infer, metadata). */
export type BodyKind = 'detect' | 'infer';

export interface InventoryOptions {
  pollIntervalMs: number;
  reserveBytes: number;
  criticalHeadroomBytes: number;
  ejection: Pick<OutlierOptions, 'consecutiveFailures' | 'baseMs' | 'maxMs' | 'maxEjectionShare'>;
  clock: Clock;
  logger: Logger;
}

/** What the inventory tells: `change` after every poll round and membership change, `eject` per ejection. */
export interface InventoryEvents {
  change: () => void;
  eject: (r: ReplicaRecord) => void;
}

export interface Inventory {
  /** Replaces the set of replicas that exist (from discovery); new ones get a pool and are polled at once. */
  setEndpoints(endpoints: ReplicaEndpoint[]): void;
  /** Polls every replica's /v1/stats once. */
  pollOnce(): Promise<void>;
  start(): void;
  stop(): Promise<void>;
  records(): Iterable<ReplicaRecord>;
  /** Replicas that reported serving this model (any version). */
  byModel(model: string): readonly ReplicaRecord[];
  gpu(key: string | null): GpuRecord | undefined;
  gpus(): Map<string, GpuRecord>;
  /**
   * The largest body of this kind a model's replicas accept: the smallest `maxBodyBytes` (images) or
   * `maxInferBodyBytes` (v2 tensors, else `maxBodyBytes`) they report, at most `own` (the
   * gateway's limit, which is also the answer when none reports one). One set of limits: a body a replica
   * would refuse is refused by the gateway, with the same 413, before any replica is touched.
   */
  bodyLimit(model: string, kind: BodyKind, own: number): number;
  /** A request to `r` was answered successfully after `seconds` (the routing latency EWMA). */
  recordLatency(r: ReplicaRecord, seconds: number): void;
  /** Failure streaks and ejection (polls re-admit through it). */
  outliers: OutlierDetector;
  on<E extends keyof InventoryEvents>(event: E, listener: InventoryEvents[E]): void;
}

const NO_REPLICAS: readonly ReplicaRecord[] = [];
const EWMA_ALPHA = 0.2;

/**
 * The replicas the gateway knows and what their /v1/stats last said. One closure: short methods over shared
 * state (members, the indexes rebuilt after each poll round, the poll timer); the work is in the functions below.
 */
export function createInventory(options: InventoryOptions): Inventory {
  const { pollIntervalMs, reserveBytes, criticalHeadroomBytes, ejection, clock, logger } = options;
  const listeners: { [E in keyof InventoryEvents]: InventoryEvents[E][] } = { change: [], eject: [] };
  const members = new Map<string, ReplicaRecord>();
  let models = new Map<string, ReplicaRecord[]>();
  const outliers = createOutlierDetector({
    ...ejection,
    peersOf: (r) => models.get(r.measurement.stats?.model ?? '') ?? NO_REPLICAS,
    clock,
    logger,
    onEject: (r) => {
      for (const l of listeners.eject) l(r);
    },
  });
  let gpuMap = new Map<string, GpuRecord>();
  let bodyLimits = new Map<string, number>(); // `${kind} ${model}` → bytes
  let timer: NodeJS.Timeout | undefined;
  let running = false;
  let inFlightPoll: Promise<void> | undefined;
  // Generous: a busy replica (or a loaded host) answering late is not a dead one; refused connections fail fast anyway.
  const pollTimeoutMs = Math.max(1000, Math.min(2 * pollIntervalMs, 5000));

  function reindex(): void {
    models = replicasByModel(members.values());
    bodyLimits = bodyLimitsOf(models);
    gpuMap = aggregateGpus(members.values(), reserveBytes, criticalHeadroomBytes);
    for (const l of listeners.change) l();
  }

  const pollReplica = (r: ReplicaRecord): Promise<void> => pollStats(r, pollTimeoutMs, outliers, clock);

  async function pollOnce(): Promise<void> {
    await Promise.all([...members.values()].map(pollReplica));
    reindex();
  }

  function schedule(): void {
    if (!running) return;
    timer = setTimeout(() => {
      inFlightPoll = pollOnce()
        .catch((err: unknown) => logger.warn('poll round failed', { err }))
        .finally(schedule);
    }, pollIntervalMs);
    timer.unref();
  }

  return {
    setEndpoints(endpoints) {
      const added = replaceMembers(members, endpoints, logger);
      reindex();
      if (added.length > 0) void Promise.all(added.map(pollReplica)).then(reindex);
    },
    pollOnce,
    start() {
      running = true;
      schedule();
    },
    async stop() {
      running = false;
      if (timer) clearTimeout(timer);
      // Pools first: that ends requests still open upstream and a poll waiting on a hung replica at once.
      await Promise.all([...members.values()].map((r) => r.pool.destroy().catch(() => undefined)));
      await inFlightPoll;
      members.clear();
    },
    records: () => members.values(),
    byModel: (model) => models.get(model) ?? NO_REPLICAS,
    gpu: (key) => (key === null ? undefined : gpuMap.get(key)),
    gpus: () => gpuMap,
    bodyLimit: (model, kind, own) => Math.min(own, bodyLimits.get(`${kind} ${model}`) ?? own),
    recordLatency(r, seconds) {
      const t = r.traffic;
      t.ewmaSeconds = t.ewmaSeconds === 0 ? seconds : t.ewmaSeconds + EWMA_ALPHA * (seconds - t.ewmaSeconds);
    },
    outliers,
    on(event, listener) {
      listeners[event].push(listener);
    },
  };
}

/** Replicas by the model they reported serving, each list sorted by replica id. */
function replicasByModel(members: Iterable<ReplicaRecord>): Map<string, ReplicaRecord[]> {
  const next = new Map<string, ReplicaRecord[]>();
  for (const r of members) {
    const model = r.measurement.stats?.model;
    if (!model) continue;
    let list = next.get(model);
    if (!list) next.set(model, (list = []));
    list.push(r);
  }
  for (const list of next.values()) list.sort((a, b) => (a.endpoint.id < b.endpoint.id ? -1 : 1));
  return next;
}

/** `${kind} ${model}` → the smallest body limit of that kind the model's replicas report (Inventory.bodyLimit). */
function bodyLimitsOf(models: Map<string, ReplicaRecord[]>): Map<string, number> {
  const limits = new Map<string, number>();
  for (const [model, list] of models) {
    for (const r of list) {
      const stats = r.measurement.stats;
      const reported = {
        detect: stats?.maxBodyBytes,
        infer: stats?.maxInferBodyBytes ?? stats?.maxBodyBytes,
      };
      for (const kind of ['detect', 'infer'] as const) {
        const bytes = reported[kind];
        const key = `${kind} ${model}`;
        if (bytes !== undefined) limits.set(key, Math.min(bytes, limits.get(key) ?? bytes));
      }
    }
  }
  return limits;
}

/** Polls one replica's /v1/stats into its measurement (unreachable on any failure); re-admits through `outliers`. */
async function pollStats(
  r: ReplicaRecord,
  timeoutMs: number,
  outliers: OutlierDetector,
  clock: Clock,
): Promise<void> {
  const m = r.measurement;
  try {
    const res = await r.pool.request({
      method: 'GET',
      path: '/v1/stats',
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
      signal: AbortSignal.timeout(timeoutMs),
    });
    const ownAtPoll = r.traffic.inFlight;
    if (res.statusCode !== 200) {
      await res.body.dump();
      throw new Error(`/v1/stats answered ${res.statusCode}`);
    }
    const parsed = ReplicaStats.safeParse(await res.body.json());
    if (!parsed.success) throw new Error(`/v1/stats does not match the contract: ${parsed.error.message}`);
    const stats = parsed.data;
    m.stats = stats;
    m.reachable = true;
    m.lastError = null;
    m.ownInFlightAtPoll = ownAtPoll;
    r.gpuKey = gpuKeyOf(stats);
    r.modelKey = modelKeyOf(stats.model, stats.version);
    outliers.polled(r, stats.ready);
  } catch (err) {
    m.reachable = false;
    m.lastError = err instanceof Error ? err.message : String(err);
  } finally {
    m.lastPolledAt = clock.now();
  }
}

/**
 * Makes `members` the replicas of `endpoints`: a new id (or a new URL) gets a fresh pool, a gone one's pool
 * is closed. Returns the records added (to be polled at once).
 */
function replaceMembers(
  members: Map<string, ReplicaRecord>,
  endpoints: ReplicaEndpoint[],
  logger: Logger,
): ReplicaRecord[] {
  const seen = new Set<string>();
  const added: ReplicaRecord[] = [];
  for (const e of endpoints) {
    seen.add(e.id);
    const existing = members.get(e.id);
    if (existing && existing.endpoint.url === e.url) continue;
    if (existing) void existing.pool.close();
    const url = new URL(e.url);
    const record = newRecord(
      { id: e.id, url: url.origin },
      new Pool(url.origin, { connections: 256, pipelining: 1, keepAliveTimeout: 30_000 }),
    );
    members.set(e.id, record);
    added.push(record);
  }
  for (const [id, r] of members) {
    if (seen.has(id)) continue;
    members.delete(id);
    void r.pool.close().catch(() => undefined);
    logger.info('replica removed', { replica: id });
  }
  for (const r of added) logger.info('replica discovered', { replica: r.endpoint.id, url: r.endpoint.url });
  return added;
}
