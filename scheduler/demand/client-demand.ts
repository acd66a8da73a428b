import { z } from 'zod';

/** What clients see for one model at the gateway: requests waiting for a replica, and the p95 latency. */
export interface ClientDemand {
  queued: number;
  p95Seconds: number | null;
  /** The gateway's configured version split for the model (version → share of unversioned traffic, 0..1). */
  versionShares?: Map<string, number>;
}

/** A source of client-side demand per model (the gateway's view); failures mean "no signal this pass". */
export type ClientDemandSource = () => Promise<Map<string, ClientDemand>>;

/** The part of the gateway's `GET /v1/cluster` (docs/contracts.md §6) that demand reads. */
const ClusterModels = z.object({
  models: z.array(
    z.object({
      name: z.string(),
      version: z.string().optional(),
      queued: z.number().nonnegative().optional(),
      p95Seconds: z.number().nullable(),
      splitShare: z.number().min(0).max(1).optional(),
    }),
  ),
});

/**
 * Per model name. The gateway lists a row per model version, but its queue and p95 are the model's (each
 * version's row repeats them): the largest is taken, not the sum, or two versions would count the queue
 * twice. The scheduler splits a model's queue between its versions by their traffic weights: the
 * configured `trafficWeight`s, else the split the gateway reports (`splitShare` per version row).
 */
export function clientDemandFromView(view: unknown): Map<string, ClientDemand> {
  const parsed = ClusterModels.parse(view);
  const out = new Map<string, ClientDemand>();
  for (const m of parsed.models) {
    const d = out.get(m.name) ?? { queued: 0, p95Seconds: null };
    d.queued = Math.max(d.queued, m.queued ?? 0);
    if (m.p95Seconds !== null) d.p95Seconds = Math.max(d.p95Seconds ?? 0, m.p95Seconds);
    if (m.version !== undefined && m.splitShare !== undefined)
      (d.versionShares ??= new Map()).set(m.version, m.splitShare);
    out.set(m.name, d);
  }
  return out;
}

/**
 * Reads the gateway's operator view over HTTP (`<adminUrl>/v1/cluster`). One gateway copy answers: with
 * several behind one Service, its queue is a sample of the total (each copy queues its own clients).
 */
export function gatewayClientDemand(adminUrl: string, token?: string): ClientDemandSource {
  return async function gatewayClientDemandSource() {
    const res = await fetch(`${adminUrl.replace(/\/$/, '')}/v1/cluster`, {
      headers: { accept: 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      signal: AbortSignal.timeout(2000),
    });
    if (!res.ok) throw new Error(`gateway /v1/cluster answered ${res.status}`);
    return clientDemandFromView(await res.json());
  };
}
