import type { CoordinationV1Api, V1Lease, V1LeaseSpec } from '@kubernetes/client-node';
import type { Logger } from '../../common/log.js';

/**
 * Leader election with a coordination.k8s.io/v1 Lease, as client-go does it: take the lease when it is
 * absent or expired, renew it every retryPeriod while holding it. Expired is judged on this instance's own
 * monotonic clock: the lease record (holder, renewTime, …) last changed leaseDuration ago or more as this
 * instance observed it — never the holder's renewTime against the local wall clock, which two machines with
 * skewed clocks read differently (a holder whose clock is behind would look expired while it renews);
 * every write carries the resourceVersion read, so of two contenders one gets 409 Conflict and stays a
 * follower. A leader that cannot renew within renewDeadline steps down before its lease can expire.
 */
export interface LeaseElectorOptions {
  coordination: CoordinationV1Api;
  namespace: string;
  name: string;
  identity: string;
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
  logger: Logger;
  /** Wall clock, for the times written into the lease (acquireTime, renewTime). */
  now?: () => number;
  /**
   * Elapsed-time clock (ms) for expiry and the renew deadline; default `now` when given (tests drive one
   * clock), else performance.now().
   */
  monotonic?: () => number;
  onChange?: (leader: boolean) => void;
}

export interface LeaseElector {
  isLeader(): boolean;
  /** One acquire-or-renew attempt; returns whether this instance leads afterwards. */
  tryAcquireOrRenew(): Promise<boolean>;
  start(): void;
  /** Stops; a leader releases the lease (holder cleared) so another takes over at once. */
  stop(): Promise<void>;
}

const conflictOrNotFound = (err: unknown): boolean =>
  [404, 409].includes((err as { code?: number }).code ?? 0);

/** What one lease read or write needs. */
interface LeaseAccess {
  coordination: CoordinationV1Api;
  namespace: string;
  name: string;
  identity: string;
  leaseDurationMs: number;
  now: () => number;
  monotonic: () => number;
}

/** The lease record as last read, and when (monotonic) it last changed: client-go's observedRecord/Time. */
interface Observed {
  record: string;
  at: number;
}

function leaseSpec(o: LeaseAccess, acquireTime: Date, transitions: number): V1LeaseSpec {
  return {
    holderIdentity: o.identity,
    leaseDurationSeconds: Math.ceil(o.leaseDurationMs / 1000),
    acquireTime,
    renewTime: new Date(o.now()),
    leaseTransitions: transitions,
  };
}

/**
 * One acquire-or-renew write: creates the lease when absent, takes it when expired as `observed` saw it,
 * renews it when ours. Returns whether this instance holds it now (a conflict throws).
 */
async function writeLease(o: LeaseAccess, observed: { last: Observed | null }): Promise<boolean> {
  const { coordination, namespace, name, identity, now, monotonic } = o;
  let current: V1Lease | null = null;
  try {
    current = await coordination.readNamespacedLease({ namespace, name });
  } catch (err) {
    if ((err as { code?: number }).code !== 404) throw err;
  }
  if (!current) {
    await coordination.createNamespacedLease({
      namespace,
      body: { metadata: { name, namespace }, spec: leaseSpec(o, new Date(now()), 0) },
    });
    return true;
  }
  const holder = current.spec?.holderIdentity ?? '';
  const duration = (current.spec?.leaseDurationSeconds ?? 0) * 1000;
  const mine = holder === identity;
  const record = JSON.stringify([holder, current.spec?.renewTime, current.spec?.leaseDurationSeconds]);
  if (observed.last?.record !== record) observed.last = { record, at: monotonic() };
  if (!mine && holder && observed.last.at + duration > monotonic()) return false;
  const acquire = mine && current.spec?.acquireTime ? new Date(current.spec.acquireTime) : new Date(now());
  const transitions = (current.spec?.leaseTransitions ?? 0) + (mine ? 0 : 1);
  await coordination.replaceNamespacedLease({
    namespace,
    name,
    body: { metadata: current.metadata!, spec: leaseSpec(o, acquire, transitions) },
  });
  return true;
}

/** Clears the holder when the lease names this instance, so another takes over at once. */
async function releaseLease(o: LeaseAccess): Promise<void> {
  const { coordination, namespace, name } = o;
  const current = await coordination.readNamespacedLease({ namespace, name });
  if (current.spec?.holderIdentity !== o.identity) return;
  await coordination.replaceNamespacedLease({
    namespace,
    name,
    body: {
      metadata: current.metadata!,
      spec: { ...current.spec, holderIdentity: '', leaseDurationSeconds: 1 },
    },
  });
}

/** One closure: leadership, the last renewal and the retry timer are state its short methods share. */
export function createLeaseElector(options: LeaseElectorOptions): LeaseElector {
  const { name, identity, renewDeadlineMs, retryPeriodMs, logger, now = Date.now, onChange } = options;
  const monotonic = options.monotonic ?? options.now ?? (() => performance.now());
  const access: LeaseAccess = { ...options, now, monotonic };
  const observed: { last: Observed | null } = { last: null };
  let leader = false;
  let lastRenew = 0;
  let timer: NodeJS.Timeout | undefined;
  let running = false;
  let stopped = false;
  let inflight: Promise<boolean> | null = null;

  const set = (value: boolean): void => {
    if (value === leader) return;
    leader = value;
    logger.info(value ? 'became leader' : 'lost leadership', { lease: name, identity });
    onChange?.(value);
  };

  async function once(): Promise<boolean> {
    if (stopped) return false;
    try {
      const ok = await writeLease(access, observed);
      if (ok) lastRenew = monotonic();
      // A stop() during the attempt wins: a stopped instance never becomes leader.
      set(ok && !stopped);
    } catch (err) {
      if (!conflictOrNotFound(err)) logger.warn('lease update failed', { lease: name, err });
      // A conflict means someone else wrote the lease; other errors keep us leading only while the last
      // renewal is younger than renewDeadline.
      if (conflictOrNotFound(err) || monotonic() - lastRenew >= renewDeadlineMs) set(false);
    }
    return elector.isLeader();
  }

  const elector: LeaseElector = {
    isLeader: () => leader && monotonic() - lastRenew < renewDeadlineMs,
    tryAcquireOrRenew() {
      inflight ??= once().finally(() => (inflight = null));
      return inflight;
    },
    start() {
      if (running) return;
      running = true;
      const tick = async (): Promise<void> => {
        await elector.tryAcquireOrRenew();
        if (running) timer = setTimeout(() => void tick(), retryPeriodMs);
      };
      void tick();
    },
    async stop() {
      running = false;
      stopped = true;
      if (timer) clearTimeout(timer);
      await inflight;
      set(false);
      // Release whenever the lease names us, not only while `leader` is set: an attempt that was in flight
      // when stop() began may have renewed it after stop() had already cleared leadership.
      await releaseLease(access).catch((err: unknown) => logger.warn('lease release failed', { err }));
    },
  };
  return elector;
}
