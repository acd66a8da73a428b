import type { V1PolicyRule } from '@kubernetes/client-node';
import type { RecordedRequest } from './kube-api-server.js';

/**
 * Turns the requests a real client made against the API-shaped server (test/helpers/kube-api-server.ts)
 * into RBAC permissions, and compares them with a Role's rules: so the chart grants exactly what the code
 * calls, measured rather than hand-listed.
 */

/** `group/resource:verb` (group `core` for ""), plus `[name]` when the request named one object. */
export interface UsedPermission {
  group: string;
  resource: string;
  verb: string;
  name: string | null;
  namespaced: boolean;
}

/** The RBAC verb the API server authorises a request as. */
export function rbacVerb(method: string, path: string, name: string | null): string {
  const watch = /[?&]watch=(true|1)\b/.test(path);
  switch (method) {
    case 'GET':
      return name ? 'get' : watch ? 'watch' : 'list';
    case 'POST':
      return 'create';
    case 'PUT':
      return 'update';
    case 'PATCH':
      return 'patch';
    case 'DELETE':
      return name ? 'delete' : 'deletecollection';
    default:
      return method.toLowerCase();
  }
}

export function usedPermissions(requests: RecordedRequest[]): UsedPermission[] {
  const seen = new Map<string, UsedPermission>();
  for (const r of requests) {
    if (!r.resource) continue;
    const group = /^\/apis\/([^/]+)\//.exec(r.path)?.[1] ?? 'core';
    const p = {
      group,
      resource: r.resource,
      verb: rbacVerb(r.method, r.path, r.name),
      name: r.name,
      namespaced: r.namespace !== null,
    };
    seen.set(`${p.group}/${p.resource}[${p.name ?? ''}]:${p.verb}`, p);
  }
  return [...seen.values()];
}

/** Splits rules into one (group, resource, verb) rule each, keeping resourceNames. */
function atoms(rules: V1PolicyRule[]): V1PolicyRule[] {
  return rules.flatMap((r) =>
    (r.apiGroups ?? ['']).flatMap((g) =>
      (r.resources ?? []).flatMap((res) =>
        r.verbs.map((v) => ({
          apiGroups: [g],
          resources: [res],
          verbs: [v],
          ...(r.resourceNames ? { resourceNames: r.resourceNames } : {}),
        })),
      ),
    ),
  );
}

/** `group/resource[names]:verb`, the chart test's notation. */
const notation = (a: V1PolicyRule): string =>
  `${a.apiGroups![0] || 'core'}/${a.resources![0]}${a.resourceNames ? `[${a.resourceNames.join(',')}]` : ''}:${a.verbs[0]}`;

function allows(rule: V1PolicyRule, p: UsedPermission): boolean {
  return (
    (rule.apiGroups ?? ['']).some((g) => (g || 'core') === p.group) &&
    (rule.resources ?? []).includes(p.resource) &&
    rule.verbs.includes(p.verb) &&
    (!rule.resourceNames || (p.name !== null && rule.resourceNames.includes(p.name)))
  );
}

/** Requests no rule allows (what would be 403 in a real cluster). */
export function uncovered(rules: V1PolicyRule[], used: UsedPermission[]): string[] {
  return used
    .filter((p) => !rules.some((rule) => allows(rule, p)))
    .map((p) => `${p.group}/${p.resource}${p.name ? `[${p.name}]` : ''}:${p.verb}`)
    .sort();
}

/** Granted permissions no request needed, less the ones allowed for a stated reason (key: notation). */
export function unused(
  rules: V1PolicyRule[],
  used: UsedPermission[],
  allowed: Record<string, string> = {},
): string[] {
  return atoms(rules)
    .filter((a) => !(notation(a) in allowed) && !used.some((p) => allows(a, p)))
    .map(notation)
    .sort();
}
