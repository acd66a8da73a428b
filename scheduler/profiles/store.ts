/**
 * Model memory profiles: the footprint the planner counts per replica. The manifest's declared bytes until a
 * replica of the model has reported a measured footprint on that GPU product; then the largest measured
 * value × (1 + margin). An out-of-memory death raises the profile (×1.25 of what was counted) so the plan
 * gives that model more room. Persisted through a ProfilePersistence (ConfigMap or JSON file).
 */

import { SchedulerConfig } from '../config/schema.js';

export interface ProfileRecord {
  model: string;
  /** GPU product (`NVIDIA GeForce RTX 4090`, `virtual`); footprints differ between products. */
  product: string;
  /** Largest footprint any replica reported, bytes (0 = none yet). */
  maxObservedBytes: number;
  samples: number;
  /** Floor raised by OOM deaths, bytes (0 = none). */
  oomFloorBytes: number;
  oomEvents: number;
  updatedAt: string;
}

export interface ProfileData {
  version: 1;
  profiles: ProfileRecord[];
}

export interface ProfilePersistence {
  load(): Promise<ProfileData | null>;
  save(data: ProfileData): Promise<void>;
}

export interface ProfileStoreOptions {
  /** Measured footprint × (1 + margin). */
  margin?: number;
  /** Raise factor on an OOM death, applied to the footprint counted at the time. */
  oomFactor?: number;
  persistence?: ProfilePersistence | null;
  now?: () => Date;
}

export interface ProfileStore {
  /** Bytes to count for one replica of `model` on a GPU of `product`. */
  footprint(model: string, product: string, declaredBytes: number): number;
  /** Whether the value comes from measurement (or an OOM) rather than the declaration. */
  source(model: string, product: string): 'declared' | 'measured' | 'oom-raised';
  observe(model: string, product: string, bytes: number): boolean;
  recordOom(model: string, product: string, countedBytes: number): number;
  records(): ProfileRecord[];
  load(): Promise<void>;
  /** Saves when something changed since the last save. */
  flush(): Promise<void>;
}

function emptyRecord(model: string, product: string, at: Date): ProfileRecord {
  return {
    model,
    product,
    maxObservedBytes: 0,
    samples: 0,
    oomFloorBytes: 0,
    oomEvents: 0,
    updatedAt: at.toISOString(),
  };
}

/** The config's footprintMargin default: one source for every store made without a config. */
const DEFAULT_MARGIN = SchedulerConfig.shape.footprintMargin.parse(undefined);

/** One closure: the records and the saved-changes count are state its short methods share. */
export function createProfileStore(options: ProfileStoreOptions = {}): ProfileStore {
  const { margin = DEFAULT_MARGIN, oomFactor = 1.25, persistence = null, now = () => new Date() } = options;
  const records = new Map<string, ProfileRecord>();
  // Changes recorded vs changes known saved: a failed save leaves them apart, so the next flush retries.
  let changes = 0;
  let saved = 0;
  const key = (model: string, product: string): string => `${model}\u0000${product}`;
  const get = (model: string, product: string): ProfileRecord => {
    let r = records.get(key(model, product));
    if (!r) records.set(key(model, product), (r = emptyRecord(model, product, now())));
    return r;
  };

  const store: ProfileStore = {
    footprint(model, product, declaredBytes) {
      const r = records.get(key(model, product));
      if (!r) return declaredBytes;
      const measured =
        r.maxObservedBytes > 0 ? Math.ceil(r.maxObservedBytes * (1 + margin) - 1e-6) : declaredBytes;
      return Math.max(measured, r.oomFloorBytes);
    },
    source(model, product) {
      const r = records.get(key(model, product));
      if (!r) return 'declared';
      if (r.oomFloorBytes > 0 && r.oomFloorBytes >= r.maxObservedBytes * (1 + margin)) return 'oom-raised';
      return r.maxObservedBytes > 0 ? 'measured' : 'declared';
    },
    observe(model, product, bytes) {
      if (!(bytes > 0)) return false;
      const r = get(model, product);
      r.samples += 1;
      if (bytes <= r.maxObservedBytes) return false;
      r.maxObservedBytes = bytes;
      r.updatedAt = now().toISOString();
      changes += 1;
      return true;
    },
    recordOom(model, product, countedBytes) {
      const r = get(model, product);
      r.oomEvents += 1;
      r.oomFloorBytes = Math.max(r.oomFloorBytes, Math.ceil(countedBytes * oomFactor));
      r.updatedAt = now().toISOString();
      changes += 1;
      return r.oomFloorBytes;
    },
    records: () =>
      [...records.values()].sort((a, b) => key(a.model, a.product).localeCompare(key(b.model, b.product))),
    async load() {
      const data = await persistence?.load();
      for (const r of data?.profiles ?? []) records.set(key(r.model, r.product), { ...r });
    },
    async flush() {
      if (changes === saved || !persistence) return;
      const upTo = changes;
      await persistence.save({ version: 1, profiles: store.records() });
      // Only after a successful write; a change made while saving stays pending.
      saved = Math.max(saved, upTo);
    },
  };
  return store;
}
