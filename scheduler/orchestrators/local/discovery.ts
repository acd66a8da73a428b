import type { Orchestrator } from '../types.js';

/** The gateway's Discovery fed by an orchestrator: every replica with a URL (the gateway reads its state). */
export function orchestratorDiscovery(orchestrator: Orchestrator): {
  start(onChange: (endpoints: { id: string; url: string }[]) => void): Promise<void>;
  stop(): Promise<void>;
} {
  let off: (() => void) | undefined;
  return {
    start(onChange) {
      let last = '';
      const push = (): void => {
        const endpoints = orchestrator
          .replicas()
          .filter((r) => r.url && r.phase !== 'pending')
          .map((r) => ({ id: r.id, url: r.url! }))
          .sort((a, b) => (a.id < b.id ? -1 : 1));
        const key = JSON.stringify(endpoints);
        if (key === last) return;
        last = key;
        onChange(endpoints);
      };
      off = orchestrator.on(push);
      push();
      return Promise.resolve();
    },
    stop() {
      off?.();
      return Promise.resolve();
    },
  };
}
