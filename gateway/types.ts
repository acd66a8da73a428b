import type { Logger } from '../common/log.js';
import type { PlanView } from './operator/cluster-view.js';
import type { GatewayConfigInput } from './config.js';

/** One replica that exists, as discovery sees it. `url`: `http://host:port`, no path. */
export interface ReplicaEndpoint {
  id: string;
  url: string;
}

/** Who exists. The gateway learns model, version, GPU and state from each endpoint's `/v1/stats`. */
export interface Discovery {
  /** Calls onChange with the full current set now and whenever it changes. */
  start(onChange: (endpoints: ReplicaEndpoint[]) => void): Promise<void>;
  stop(): Promise<void>;
}

/** Time source; tests inject one to drive ejection backoff and sliding windows. */
export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

export interface GatewayOptions {
  /** Client port (0: any free port). Default 8080. */
  port?: number;
  /** Operator port (/v1/cluster, /metrics, /ui). Default 8090. */
  adminPort?: number;
  /** KServe v2 gRPC + gRPC health port (0: any free port); no gRPC when undefined. */
  grpcPort?: number;
  /** Default 0.0.0.0. */
  host?: string;
  /** Admin bind address; default `host`. */
  adminHost?: string;
  discovery: Discovery;
  /** `name` or `name:version`: what /v2/health/ready requires. Default: every model seen. */
  models?: string[] | undefined;
  /** Bearer tokens accepted on inference endpoints; none: open. */
  authTokens?: string[];
  /** Bearer tokens required on operator endpoints; none: open (they are on their own port). */
  adminTokens?: string[];
  /** What the scheduler plans next (the local stack passes its in-process plan). */
  planSource?: () => Promise<PlanView | null>;
  /** Fetches `<url>/v1/plan` when planSource is absent. */
  schedulerUrl?: string;
  /**
   * Everything tunable — poll interval, default deadline, GPU reserve, routing, limits, retries, ejection,
   * shutdown — in the shape of the YAML `--config` file (gateway/config.ts), validated once here. The CLI lays
   * its explicit flags over the file and passes the result.
   */
  config?: GatewayConfigInput;
  logger?: Logger;
  clock?: Clock;
  /** Random source for routing tie-breaks (tests inject a fixed one). Default Math.random. */
  random?: () => number;
}

export interface RunningGateway {
  url: string;
  adminUrl: string;
  /** `host:port` of the gRPC endpoint, when one was asked for. */
  grpcAddress?: string | undefined;
  close(): Promise<void>;
}
