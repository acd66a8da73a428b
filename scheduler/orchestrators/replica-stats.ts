import { ReplicaStats } from '../../replica/contract.js';

/** Reads a replica's /v1/stats (parsed with the shared zod contract); null when unreachable or invalid. */
export async function fetchReplicaStats(url: string, timeoutMs = 2000): Promise<ReplicaStats | null> {
  try {
    const res = await fetch(`${url}/v1/stats`, { signal: AbortSignal.timeout(timeoutMs) });
    if (!res.ok) return null;
    const parsed = ReplicaStats.safeParse(await res.json());
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}
