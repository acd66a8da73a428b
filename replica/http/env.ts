/** Per-request variables of the replica's Hono app. */
export interface ReplicaEnv {
  Variables: {
    /** Route name for metrics (`detect`, `infer`, ...); set by `endpoint()` on each route. */
    endpoint: string;
    /**
     * Takes the request's admission slot (admission.ts): called by a work route once its body is complete
     * or proven fast; throws 429 QUEUE_FULL when the slots are full. Unset outside the admitted routes.
     */
    takeSlot: (() => void) | undefined;
  };
}
