import { z } from 'zod';

/**
 * Versions side by side: an unversioned request for a model with a split goes to a version picked by
 * weight, before the router picks a replica of that version; a request that names a version keeps it.
 *
 * - Without a sticky key the pick is a smooth weighted round-robin (nginx's): deterministic, exactly the
 *   weights' proportions over every window of Σweights requests, no random runs of one version.
 * - With a sticky key (the configured header, e.g. a client id) the key's FNV-1a hash picks, so one client
 *   always sees one version while the weights hold over many clients.
 *
 * @example
 * const split = createVersionSplit({ split: { codetr: { '1': 90, '2': 10 } }, stickyHeader: 'x-client-id' });
 * split.choose('codetr', null, undefined); // '1' nine times in ten
 */
export const VersionSplitConfig = z
  .object({
    /** model → version → weight (relative; a weight of 0 takes the version out of unversioned traffic). */
    split: z.record(z.string(), z.record(z.string(), z.number().min(0))).default({}),
    /** Request header whose value pins a client to one version (lower-cased); none: not sticky. */
    stickyHeader: z
      .string()
      .min(1)
      .transform((h) => h.toLowerCase())
      .optional(),
  })
  .strict()
  .refine(
    (c) => Object.values(c.split).every((w) => Object.values(w).some((v) => v > 0)),
    'every model in versions.split needs a version with a weight above 0',
  );

export type VersionSplitConfig = z.output<typeof VersionSplitConfig>;

export interface VersionSplit {
  /** Whether the model has a split configured. */
  covers(model: string): boolean;
  /** The version a request goes to: its own if it names one, else by weight; null when the model has no split. */
  choose(model: string, version: string | null, stickyKey: string | undefined): string | null;
  /** The sticky key of a request's headers (the configured header's value), if any. */
  stickyKey(headers: Record<string, string | string[] | undefined>): string | undefined;
}

/**
 * The version a request goes to, given its model, the version it named (null: none) and its headers: a split's
 * pick for an unversioned request (null when the model has none: the router picks among every version).
 */
export type ChooseVersion = (
  model: string,
  version: string | null,
  headers: Record<string, string | string[] | undefined>,
) => string | null;

interface Entry {
  version: string;
  weight: number;
  current: number;
}

/** FNV-1a, 32 bits: stable across processes, so every gateway copy pins a client to the same version. */
export function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

export function createVersionSplit({ split, stickyHeader }: VersionSplitConfig): VersionSplit {
  const models = new Map<string, { entries: Entry[]; total: number }>();
  for (const [model, weights] of Object.entries(split)) {
    // Sorted by version so the order (and thus the hash → version map) does not depend on the YAML's order.
    const entries = Object.entries(weights)
      .filter(([, w]) => w > 0)
      .sort(([a], [b]) => a.localeCompare(b, 'en', { numeric: true }))
      .map(([version, weight]) => ({ version, weight, current: 0 }));
    models.set(model, { entries, total: entries.reduce((n, e) => n + e.weight, 0) });
  }
  return {
    covers: (model) => models.has(model),
    choose(model, version, stickyKey) {
      if (version !== null) return version;
      const m = models.get(model);
      if (!m) return null;
      if (stickyKey !== undefined) {
        let point = (fnv1a(`${model}\u0000${stickyKey}`) / 2 ** 32) * m.total;
        for (const e of m.entries) {
          if (point < e.weight) return e.version;
          point -= e.weight;
        }
        return m.entries[m.entries.length - 1]!.version;
      }
      let best: Entry | undefined;
      for (const e of m.entries) {
        e.current += e.weight;
        if (!best || e.current > best.current) best = e;
      }
      best!.current -= m.total;
      return best!.version;
    },
    stickyKey(headers) {
      if (stickyHeader === undefined) return undefined;
      const v = headers[stickyHeader];
      const value = Array.isArray(v) ? v[0] : v;
      return value === undefined || value === '' ? undefined : value;
    },
  };
}
