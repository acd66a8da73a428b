import { fetchReplicaStats } from './replica-stats.js';

/**
 * Drains a replica before it is deleted: POST /v1/drain (it stops taking work and the gateway stops routing
 * to it, seeing `draining` in its stats), then waits until its in-flight reaches 0 or the timeout passes.
 * Resolves true when it emptied, false on timeout or when it could not be reached.
 */
export async function drainReplica(
  url: string,
  options: { timeoutMs: number; pollMs?: number },
): Promise<boolean> {
  const { timeoutMs, pollMs = 250 } = options;
  const deadline = Date.now() + timeoutMs;
  try {
    const res = await fetch(`${url}/v1/drain`, {
      method: 'POST',
      signal: AbortSignal.timeout(Math.min(5000, timeoutMs)),
    });
    await res.body?.cancel();
    if (!res.ok) return false;
  } catch {
    return false;
  }
  while (Date.now() < deadline) {
    const stats = await fetchReplicaStats(url, Math.min(2000, Math.max(1, deadline - Date.now())));
    if (!stats) return false;
    if (stats.inFlight === 0) return true;
    await new Promise((r) => setTimeout(r, pollMs));
  }
  return false;
}
