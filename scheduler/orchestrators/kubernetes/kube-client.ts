import { register } from 'node:module';

/**
 * Loads @kubernetes/client-node. Its 2.x line depends on undici 8, which needs Node ≥ 22 (on Node 20 it
 * crashes at import: zstd and webidl internals are missing). On Node < 22 a module-resolution hook sends the
 * client's `import 'undici'` to the project's own undici 7 (same fetch/Agent/ProxyAgent API, works on 20).
 * Hooks only affect modules resolved after they are registered, hence the dynamic import: every runtime use
 * of the client goes through `loadKubeClient()` (type-only imports are fine anywhere).
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

export function needsUndiciRedirect(version = process.versions.node): boolean {
  return Number(version.split('.')[0]) < 22;
}

export function loadKubeClient(): Promise<KubeClientModule> {
  if (!loading) {
    if (needsUndiciRedirect()) {
      register(`data:text/javascript,${encodeURIComponent(HOOK)}`, { data: { projectUrl: import.meta.url } });
    }
    loading = import('@kubernetes/client-node');
  }
  return loading;
}
