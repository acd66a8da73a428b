import type { Discovery, ReplicaEndpoint } from '../types.js';

/**
 * A fixed list of replica URLs (`--replica`). Ids default to `host:port`.
 *
 * @example
 * staticDiscovery(['http://10.0.0.5:8081', { id: 'r2', url: 'http://10.0.0.6:8081' }])
 */
export function staticDiscovery(replicas: readonly (string | ReplicaEndpoint)[]): Discovery {
  const endpoints: ReplicaEndpoint[] = replicas.map((r) => {
    const e = typeof r === 'string' ? { id: '', url: r } : r;
    const url = new URL(e.url);
    if (url.protocol !== 'http:') throw new Error(`replica url must be http://host:port, got ${e.url}`);
    return { id: e.id || url.host, url: url.origin };
  });
  return {
    start(onChange) {
      onChange(endpoints);
      return Promise.resolve();
    },
    async stop() {},
  };
}
