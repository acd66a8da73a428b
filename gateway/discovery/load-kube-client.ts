import { register } from 'node:module';

/**
 * Loads @kubernetes/client-node lazily. Its 2.x line imports undici 8, which crashes on Node < 22; there a
 * resolve hook sends the client's `import 'undici'` to the project's undici 7. Same approach as
 * scheduler/orchestrators/kubernetes/kube-client.ts (kept apart so the gateway does not depend on the
 * scheduler; both hooks redirect the same way, so registering both is harmless).
 */
export type KubeClientModule = typeof import('@kubernetes/client-node');

const HOOK = `
let projectUrl;
export function initialize(data) { projectUrl = data.projectUrl; }
export async function resolve(specifier, context, next) {
  if ((specifier === 'undici' || specifier.startsWith('undici/')) && context.parentURL &&
      context.parentURL.includes('/node_modules/@kubernetes/client-node/')) {
    return next(specifier, { ...context, parentURL: projectUrl });
  }
  return next(specifier, context);
}`;

let loading: Promise<KubeClientModule> | undefined;

export function loadKubeClient(): Promise<KubeClientModule> {
  if (!loading) {
    if (Number(process.versions.node.split('.')[0]) < 22) {
      register(`data:text/javascript,${encodeURIComponent(HOOK)}`, { data: { projectUrl: import.meta.url } });
    }
    loading = import('@kubernetes/client-node');
  }
  return loading;
}
