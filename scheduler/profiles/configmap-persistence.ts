import type { CoreV1Api } from '@kubernetes/client-node';
import type { ProfileData, ProfilePersistence } from './store.js';

const KEY = 'profiles.json';

function statusCode(err: unknown): number | undefined {
  return (err as { code?: number }).code;
}

/** Profiles in a ConfigMap key `profiles.json` (Kubernetes). Creates it on first save; replaces guarded by resourceVersion. */
export function configMapProfilePersistence(options: {
  core: CoreV1Api;
  namespace: string;
  name: string;
}): ProfilePersistence {
  const { core, namespace, name } = options;
  return {
    async load() {
      try {
        const cm = await core.readNamespacedConfigMap({ namespace, name });
        const text = cm.data?.[KEY];
        return text ? (JSON.parse(text) as ProfileData) : null;
      } catch (err) {
        if (statusCode(err) === 404) return null;
        throw err;
      }
    },
    async save(data) {
      const body = {
        metadata: { name, labels: { 'app.kubernetes.io/part-of': 'gpumux' } },
        data: { [KEY]: JSON.stringify(data, null, 2) },
      };
      try {
        const current = await core.readNamespacedConfigMap({ namespace, name });
        await core.replaceNamespacedConfigMap({
          namespace,
          name,
          body: { ...body, metadata: { ...current.metadata, ...body.metadata } },
        });
      } catch (err) {
        if (statusCode(err) !== 404) throw err;
        await core.createNamespacedConfigMap({ namespace, body });
      }
    },
  };
}
