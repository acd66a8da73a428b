/** Per-request variables of the replica's Hono app. */
export interface ReplicaEnv {
  Variables: {
    /** Route name for metrics (`detect`, `infer`, ...); set by `endpoint()` on each route. */
    endpoint: string;
  };
}
