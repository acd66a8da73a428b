import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import type { KubeConfig } from '@kubernetes/client-node';
import { loadKubeClient } from '../../common/kube-client.js';
import type { KubeObject } from './kube-object.js';
import { createResourceClaimBehaviour, DRA_RESOURCES } from './kube-resource-claims.js';

/**
 * A small Kubernetes-API-shaped HTTP server for tests: the real @kubernetes/client-node talks to it over
 * HTTP. It keeps objects in memory with a cluster-wide resourceVersion and implements what gpumux uses:
 *
 * - pods (namespaced): create (name or generateName), get, list, watch, delete, replace, status replace;
 *   list/watch at `/api/v1/pods` across namespaces too. A DELETE of a pod that runs on a node, with a grace
 *   period (`gracePeriodSeconds` in the query or body, else `spec.terminationGracePeriodSeconds`, else 30),
 *   makes it Terminating as the real API does: `metadata.deletionTimestamp` and `deletionGracePeriodSeconds`
 *   set, a MODIFIED event, the Terminating pod in the answer; the stand-in's kubelet removes it (DELETED)
 *   `terminationMs` later, or when the test calls `finishTermination`. A pod with no `spec.nodeName`, one
 *   that has Failed or Succeeded, or a grace period of 0 is deleted at once;
 * - nodes (cluster): list, get, create (and `addNode`/`removeNode` helpers);
 * - leases (coordination.k8s.io/v1) and configmaps: get, create, replace — a replace whose
 *   `metadata.resourceVersion` is not the current one answers 409 Conflict, as the real API does;
 * - deployments (apps/v1): get/create, so owner references can look up a uid.
 *
 * Watches (`?watch=true`) stream `{"type":"ADDED|MODIFIED|DELETED","object":{...}}` lines, replaying events
 * after `resourceVersion` when given (one older than the last `expireWatches()` gets an `ERROR` event with
 * code 410 Gone and the end of the stream, as the real API answers an expired resourceVersion); `labelSelector` supports `k=v`, `k==v`, `k!=v`, `k`, `!k`,
 * `k in (a,b)`, `k notin (a,b)`; `fieldSelector` supports `metadata.name=` and `spec.nodeName=`.
 *
 * @example
 * const api = await startKubeApiServer();
 * const kc = api.kubeConfig();           // point the real client at it
 * api.addNode('gpu-1', { 'nvidia.com/gpu.count': '2', 'nvidia.com/gpu.memory': '24564' });
 * await api.close();
 */

export interface WatchEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  object: KubeObject;
}

export interface RecordedRequest {
  method: string;
  path: string;
  resource: string;
  namespace: string | null;
  name: string | null;
  status: number;
  userAgent: string | undefined;
  /** Epoch ms when the request arrived. */
  at: number;
}

interface ResourceType {
  group: string; // '' for core
  version: string;
  kind: string;
  namespaced: boolean;
}

const RESOURCES: Record<string, ResourceType> = {
  pods: { group: '', version: 'v1', kind: 'Pod', namespaced: true },
  nodes: { group: '', version: 'v1', kind: 'Node', namespaced: false },
  configmaps: { group: '', version: 'v1', kind: 'ConfigMap', namespaced: true },
  leases: { group: 'coordination.k8s.io', version: 'v1', kind: 'Lease', namespaced: true },
  deployments: { group: 'apps', version: 'v1', kind: 'Deployment', namespaced: true },
  ...DRA_RESOURCES, // resourceclaims, resourceslices: kube-resource-claims.ts
};

/** Resources whose replace is guarded by resourceVersion (optimistic concurrency). */
const GUARDED = new Set(['leases', 'configmaps', 'pods', 'deployments', 'nodes']);

interface Watcher {
  resource: string;
  namespace: string | null;
  matches: (obj: KubeObject) => boolean;
  res: ServerResponse;
}

export interface KubeApiServer {
  url: string;
  /** A KubeConfig for the real client, pointing at this server (no auth, plain HTTP). */
  kubeConfig(namespace?: string): KubeConfig;
  /** Every request served, in order (watch streams included once, when they start). */
  requests: RecordedRequest[];
  get(resource: string, namespace: string | null, name: string): KubeObject | undefined;
  list(resource: string, namespace?: string | null, labelSelector?: string): KubeObject[];
  /** Creates or replaces an object directly (no conflict check); emits the watch event. */
  put(resource: string, object: KubeObject): KubeObject;
  /** Deletes an object directly and at once (a forced delete by another actor); emits DELETED. */
  remove(resource: string, namespace: string | null, name: string): boolean;
  addNode(name: string, labels?: Record<string, string>): KubeObject;
  removeNode(name: string): boolean;
  /** Sets a pod's status (phase, podIP, conditions, containerStatuses…), merging into what is there. */
  setPodStatus(namespace: string, name: string, status: Record<string, unknown>): KubeObject;
  /** Marks every matching pod Running and Ready with the given IP (or 127.0.0.1). */
  runPods(namespace: string, labelSelector?: string, podIP?: string): number;
  /** Makes the next matching request fail with this status (e.g. 500), once. */
  failNext(method: string, pathPattern: RegExp, status: number): void;
  /**
   * Forgets the watch history (etcd compaction): every open watch gets `ERROR` 410 Gone and ends, and a watch
   * from an older resourceVersion gets the same — the client must list again.
   */
  expireWatches(): void;
  /** Cuts every open watch connection without an answer (a dropped connection, an API server restart). */
  dropWatches(): void;
  /** The kubelet reports a Terminating pod's containers gone: the pod is removed (DELETED). False if none. */
  finishTermination(namespace: string, name: string): boolean;
  close(): Promise<void>;
}

export interface KubeApiServerOptions {
  /** Pods created become Running + Ready with this podIP right away (default: they stay Pending). */
  autoRunPodIP?: string;
  /**
   * How long a pod deleted with a grace period stays Terminating before the stand-in's kubelet removes it
   * (default 100 ms: its containers exit soon after SIGTERM); 'manual': until `finishTermination`.
   */
  terminationMs?: number | 'manual';
  /**
   * How long a DELETE's answer waits after its watch event went out (default 0). On a real cluster the answer
   * and the watch event travel apart and either may come first; this makes the watch event come first.
   */
  deleteAnswerDelayMs?: number;
}

function status(code: number, reason: string, message: string): Record<string, unknown> {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code };
}

type Requirement = (labels: Record<string, string>) => boolean;

/** Parses a Kubernetes label selector into one predicate. Throws on syntax it does not know. */
export function parseLabelSelector(
  selector: string | undefined,
): (labels: Record<string, string> | undefined) => boolean {
  if (!selector || !selector.trim()) return () => true;
  const parts: string[] = [];
  let depth = 0;
  let current = '';
  for (const ch of selector) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      parts.push(current);
      current = '';
    } else current += ch;
  }
  parts.push(current);
  const reqs: Requirement[] = parts.map((raw) => {
    const part = raw.trim();
    let m: RegExpExecArray | null;
    if ((m = /^([^\s!=]+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(part))) {
      const key = m[1]!;
      const values = new Set(m[3]!.split(',').map((v) => v.trim()));
      return m[2] === 'in'
        ? (l) => l[key] !== undefined && values.has(l[key])
        : (l) => l[key] === undefined || !values.has(l[key]);
    }
    if ((m = /^([^\s!=]+)\s*!=\s*(\S*)$/.exec(part))) {
      const [key, value] = [m[1]!, m[2]!];
      return (l) => l[key] !== value;
    }
    if ((m = /^([^\s!=]+)\s*==?\s*(\S*)$/.exec(part))) {
      const [key, value] = [m[1]!, m[2]!];
      return (l) => l[key] === value;
    }
    if ((m = /^!([^\s!=]+)$/.exec(part))) {
      const key = m[1]!;
      return (l) => l[key] === undefined;
    }
    if ((m = /^([^\s!=(),]+)$/.exec(part))) {
      const key = m[1]!;
      return (l) => l[key] !== undefined;
    }
    throw new Error(`unsupported label selector "${part}"`);
  });
  return (labels) => reqs.every((r) => r(labels ?? {}));
}

function parseFieldSelector(selector: string | undefined): (obj: KubeObject) => boolean {
  if (!selector) return () => true;
  const reqs = selector.split(',').map((part) => {
    const m = /^([a-zA-Z.]+)\s*(==?|!=)\s*(.*)$/.exec(part.trim());
    if (!m) throw new Error(`unsupported field selector "${part}"`);
    const [, field, op, value] = m;
    const read = (o: KubeObject): unknown =>
      field!
        .split('.')
        .reduce<unknown>(
          (v, k) => (v && typeof v === 'object' ? (v as Record<string, unknown>)[k] : undefined),
          o,
        );
    // a field's text as the API server compares it: scalars only (an object or a missing field matches '')
    const text = (o: KubeObject): string => {
      const v = read(o);
      return typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' ? String(v) : '';
    };
    return op === '!=' ? (o: KubeObject) => text(o) !== value : (o: KubeObject) => text(o) === value;
  });
  return (o) => reqs.every((r) => r(o));
}

async function readBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  return text ? JSON.parse(text) : undefined;
}

export async function startKubeApiServer(options: KubeApiServerOptions = {}): Promise<KubeApiServer> {
  const k8s = await loadKubeClient();
  let revision = 1;
  const stores = new Map<string, Map<string, KubeObject>>(Object.keys(RESOURCES).map((r) => [r, new Map()]));
  const history: { rv: number; resource: string; event: WatchEvent }[] = [];
  /** Watches from a resourceVersion below this are answered 410 Gone (expireWatches). */
  let compactedBelow = 0;
  const gone = JSON.stringify({
    type: 'ERROR',
    object: {
      kind: 'Status',
      apiVersion: 'v1',
      status: 'Failure',
      reason: 'Expired',
      message: 'too old resource version',
      code: 410,
    },
  });
  const watchers = new Set<Watcher>();
  const requests: RecordedRequest[] = [];
  const failures: { method: string; pattern: RegExp; status: number }[] = [];
  const terminationTimers = new Set<NodeJS.Timeout>();
  const terminationMs = options.terminationMs ?? 100;

  const keyOf = (namespace: string | null, name: string): string => `${namespace ?? ''}/${name}`;
  const storeOf = (resource: string): Map<string, KubeObject> => stores.get(resource)!;

  function emit(resource: string, type: WatchEvent['type'], object: KubeObject): void {
    const event: WatchEvent = { type, object: structuredClone(object) };
    history.push({ rv: Number(object.metadata.resourceVersion), resource, event });
    if (history.length > 5000) history.splice(0, history.length - 5000);
    for (const w of watchers) {
      if (w.resource !== resource) continue;
      if (w.namespace !== null && object.metadata.namespace !== w.namespace) continue;
      if (!w.matches(object)) continue;
      w.res.write(JSON.stringify(event) + '\n');
    }
  }

  function stamp(resource: string, obj: KubeObject, namespace: string | null): KubeObject {
    const type = RESOURCES[resource]!;
    obj.apiVersion = type.group ? `${type.group}/${type.version}` : type.version;
    obj.kind = type.kind;
    obj.metadata.resourceVersion = String(++revision);
    if (type.namespaced) obj.metadata.namespace = namespace ?? 'default';
    else delete obj.metadata.namespace;
    return obj;
  }

  const dra = createResourceClaimBehaviour({
    get: (resource, namespace, name) => storeOf(resource).get(keyOf(namespace, name)),
    list: (resource) => [...storeOf(resource).values()],
    update(resource, object) {
      stamp(resource, object, object.metadata.namespace ?? null);
      storeOf(resource).set(keyOf(object.metadata.namespace ?? null, object.metadata.name!), object);
      emit(resource, 'MODIFIED', object);
    },
    remove: (resource, namespace, name) => void deleteObject(resource, namespace, name),
  });

  function createObject(
    resource: string,
    namespace: string | null,
    input: KubeObject,
  ): KubeObject | { error: number; reason: string; message: string } {
    const obj = structuredClone(input);
    obj.metadata ??= {};
    if (!obj.metadata.name && obj.metadata.generateName) {
      obj.metadata.name = obj.metadata.generateName + randomUUID().slice(0, 5);
    }
    const name = obj.metadata.name;
    if (!name) return { error: 422, reason: 'Invalid', message: 'metadata.name or generateName is required' };
    const store = storeOf(resource);
    if (store.has(keyOf(namespace, name))) {
      return { error: 409, reason: 'AlreadyExists', message: `${resource} "${name}" already exists` };
    }
    obj.metadata.uid = randomUUID();
    obj.metadata.creationTimestamp = new Date().toISOString();
    if (resource === 'pods') {
      obj.status = options.autoRunPodIP
        ? runningStatus(options.autoRunPodIP)
        : { phase: 'Pending', conditions: [{ type: 'Ready', status: 'False' }] };
    }
    stamp(resource, obj, namespace);
    store.set(keyOf(namespace, name), obj);
    emit(resource, 'ADDED', obj);
    if (resource === 'pods') dra.podCreated(obj);
    return obj;
  }

  function runningStatus(podIP: string): Record<string, unknown> {
    return {
      phase: 'Running',
      podIP,
      podIPs: [{ ip: podIP }],
      startTime: new Date().toISOString(),
      conditions: [{ type: 'Ready', status: 'True' }],
      containerStatuses: [
        {
          name: 'replica',
          ready: true,
          restartCount: 0,
          image: 'gpumux',
          imageID: '',
          state: { running: {} },
        },
      ],
    };
  }

  function replaceObject(
    resource: string,
    namespace: string | null,
    name: string,
    input: KubeObject,
    statusOnly: boolean,
  ): KubeObject | { error: number; reason: string; message: string } {
    const store = storeOf(resource);
    const current = store.get(keyOf(namespace, name));
    if (!current) return { error: 404, reason: 'NotFound', message: `${resource} "${name}" not found` };
    const rv = input.metadata?.resourceVersion;
    if (GUARDED.has(resource) && rv !== undefined && rv !== '' && rv !== current.metadata.resourceVersion) {
      return {
        error: 409,
        reason: 'Conflict',
        message: `Operation cannot be fulfilled on ${resource} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
      };
    }
    const next: KubeObject = statusOnly
      ? { ...structuredClone(current), status: structuredClone(input.status) }
      : {
          ...structuredClone(input),
          metadata: {
            ...structuredClone(input.metadata),
            uid: current.metadata.uid,
            creationTimestamp: current.metadata.creationTimestamp,
            name,
          },
        };
    if (!statusOnly && resource === 'pods') next.status = current.status;
    stamp(resource, next, namespace);
    store.set(keyOf(namespace, name), next);
    emit(resource, 'MODIFIED', next);
    return next;
  }

  function deleteObject(resource: string, namespace: string | null, name: string): KubeObject | undefined {
    const store = storeOf(resource);
    const current = store.get(keyOf(namespace, name));
    if (!current) return undefined;
    store.delete(keyOf(namespace, name));
    const gone = structuredClone(current);
    gone.metadata.deletionTimestamp ??= new Date().toISOString();
    stamp(resource, gone, namespace);
    emit(resource, 'DELETED', gone);
    if (resource === 'pods') dra.podDeleted(gone);
    return gone;
  }

  /**
   * DELETE as the API server does it: a pod bound to a node with a grace period becomes Terminating (MODIFIED,
   * still listed) and goes later; anything else goes now. Answers the object as the DELETE left it.
   */
  function deleteRequested(
    resource: string,
    namespace: string | null,
    name: string,
    graceSeconds: number | undefined,
  ): KubeObject | undefined {
    const current = storeOf(resource).get(keyOf(namespace, name));
    if (!current) return undefined;
    if (resource === 'resourceclaims') return dra.deleteClaim(namespace, name);
    if (resource !== 'pods') return deleteObject(resource, namespace, name);
    const phase = current.status?.phase;
    const grace =
      !current.spec?.nodeName || phase === 'Failed' || phase === 'Succeeded'
        ? 0
        : (graceSeconds ?? Number(current.spec.terminationGracePeriodSeconds ?? 30));
    if (grace <= 0) return deleteObject(resource, namespace, name);
    if (current.metadata.deletionTimestamp) return structuredClone(current); // already Terminating
    const terminating = structuredClone(current);
    terminating.metadata.deletionTimestamp = new Date(Date.now() + grace * 1000).toISOString();
    terminating.metadata.deletionGracePeriodSeconds = grace;
    stamp(resource, terminating, namespace);
    storeOf(resource).set(keyOf(namespace, name), terminating);
    emit(resource, 'MODIFIED', terminating);
    if (terminationMs !== 'manual') {
      const timer = setTimeout(() => {
        terminationTimers.delete(timer);
        finishTermination(namespace, name, terminating.metadata.uid);
      }, terminationMs);
      terminationTimers.add(timer);
    }
    return structuredClone(terminating);
  }

  /** Removes a Terminating pod (the one with this uid when given: not a later pod of the same name). */
  function finishTermination(namespace: string | null, name: string, uid?: string): boolean {
    const current = storeOf('pods').get(keyOf(namespace, name));
    if (!current?.metadata.deletionTimestamp || (uid !== undefined && current.metadata.uid !== uid))
      return false;
    return deleteObject('pods', namespace, name) !== undefined;
  }

  function listObjects(
    resource: string,
    namespace: string | null,
    labelSelector?: string,
    fieldSelector?: string,
  ): KubeObject[] {
    const byLabel = parseLabelSelector(labelSelector);
    const byField = parseFieldSelector(fieldSelector);
    return [...storeOf(resource).values()]
      .filter((o) => namespace === null || o.metadata.namespace === namespace)
      .filter((o) => byLabel(o.metadata.labels) && byField(o))
      .sort((a, b) =>
        `${a.metadata.namespace}/${a.metadata.name}`.localeCompare(
          `${b.metadata.namespace}/${b.metadata.name}`,
        ),
      )
      .map((o) => structuredClone(o));
  }

  const ROUTE =
    /^\/(?:api\/v1|apis\/([^/]+)\/([^/]+))(?:\/namespaces\/([^/]+))?\/([a-z]+)(?:\/([^/]+))?(\/status)?$/;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const method = req.method ?? 'GET';
    const at = Date.now();
    const send = (code: number, body: unknown): void => {
      res.writeHead(code, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    const m = ROUTE.exec(url.pathname);
    const record = (code: number): void => {
      requests.push({
        method,
        path: url.pathname + url.search,
        resource: m?.[4] ?? '',
        namespace: m?.[3] ?? null,
        name: m?.[5] ? decodeURIComponent(m[5]) : null,
        status: code,
        userAgent: req.headers['user-agent'],
        at,
      });
    };
    const fail = failures.findIndex((f) => f.method === method && f.pattern.test(url.pathname + url.search));
    if (fail >= 0) {
      const code = failures[fail]!.status;
      failures.splice(fail, 1);
      record(code);
      return send(code, status(code, 'InternalError', 'injected failure'));
    }
    if (!m) {
      record(404);
      return send(404, status(404, 'NotFound', `no route for ${url.pathname}`));
    }
    const [, group = '', , ns, resource = '', rawName, statusPath] = m;
    const type = RESOURCES[resource];
    if (!type || type.group !== group) {
      record(404);
      return send(
        404,
        status(404, 'NotFound', `the server could not find the requested resource (${resource})`),
      );
    }
    const namespace = type.namespaced ? (ns ?? null) : null;
    const name = rawName ? decodeURIComponent(rawName) : null;
    const labelSelector = url.searchParams.get('labelSelector') ?? undefined;
    const fieldSelector = url.searchParams.get('fieldSelector') ?? undefined;

    const result = (
      code: number,
      body: KubeObject | { error: number; reason: string; message: string } | undefined,
    ): void => {
      if (body === undefined) {
        record(404);
        return send(404, status(404, 'NotFound', `${resource} "${name}" not found`));
      }
      if ('error' in body) {
        record(body.error as number);
        return send(
          body.error as number,
          status(body.error as number, body.reason as string, body.message as string),
        );
      }
      record(code);
      send(code, body);
    };

    try {
      if (method === 'GET' && name === null && url.searchParams.get('watch') === 'true') {
        record(200);
        return startWatch(req, res, resource, namespace, labelSelector, fieldSelector, url.searchParams);
      }
      if (method === 'GET' && name === null) {
        const items = listObjects(resource, namespace, labelSelector, fieldSelector);
        record(200);
        return send(200, {
          apiVersion: type.group ? `${type.group}/${type.version}` : type.version,
          kind: `${type.kind}List`,
          metadata: { resourceVersion: String(revision) },
          items,
        });
      }
      if (method === 'GET' && name !== null)
        return result(200, storeOf(resource).get(keyOf(namespace, name)));
      if (method === 'POST' && name === null) {
        const body = (await readBody(req)) as KubeObject;
        if (body?.metadata?.namespace && namespace && body.metadata.namespace !== namespace) {
          return result(400, {
            error: 400,
            reason: 'BadRequest',
            message: 'the namespace of the object does not match the namespace of the request',
          });
        }
        return result(201, createObject(resource, namespace, body));
      }
      if (method === 'PUT' && name !== null) {
        const body = (await readBody(req)) as KubeObject;
        return result(200, replaceObject(resource, namespace, name, body, statusPath !== undefined));
      }
      if (method === 'DELETE' && name !== null) {
        const body = (await readBody(req)) as { gracePeriodSeconds?: number } | undefined;
        const query = url.searchParams.get('gracePeriodSeconds');
        const grace = query !== null ? Number(query) : body?.gracePeriodSeconds;
        const answer = deleteRequested(resource, namespace, name, grace);
        if (options.deleteAnswerDelayMs) await new Promise((r) => setTimeout(r, options.deleteAnswerDelayMs));
        return result(200, answer);
      }
      record(405);
      return send(405, status(405, 'MethodNotAllowed', `${method} not supported here`));
    } catch (err) {
      record(400);
      return send(400, status(400, 'BadRequest', (err as Error).message));
    }
  }

  function startWatch(
    req: IncomingMessage,
    res: ServerResponse,
    resource: string,
    namespace: string | null,
    labelSelector: string | undefined,
    fieldSelector: string | undefined,
    params: URLSearchParams,
  ): void {
    const byLabel = parseLabelSelector(labelSelector);
    const byField = parseFieldSelector(fieldSelector);
    const matches = (o: KubeObject): boolean => byLabel(o.metadata.labels) && byField(o);
    res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    // Send headers now: a client's watch() resolves on them, even when no event follows for a while.
    res.flushHeaders();
    const since = params.get('resourceVersion');
    const inScope = (o: KubeObject): boolean =>
      (namespace === null || o.metadata.namespace === namespace) && matches(o);
    if (since && since !== '0' && Number(since) < compactedBelow) {
      res.end(gone + '\n');
      return;
    }
    if (since && since !== '0') {
      for (const h of history)
        if (h.resource === resource && h.rv > Number(since) && inScope(h.event.object))
          res.write(JSON.stringify(h.event) + '\n');
    } else {
      // No resourceVersion: the real API starts with synthetic ADDED events for what exists.
      for (const o of listObjects(resource, namespace, labelSelector, fieldSelector))
        res.write(JSON.stringify({ type: 'ADDED', object: o }) + '\n');
    }
    const watcher: Watcher = { resource, namespace, matches, res };
    watchers.add(watcher);
    const timeout = Number(params.get('timeoutSeconds') ?? 0);
    const timer = timeout > 0 ? setTimeout(() => res.end(), timeout * 1000) : undefined;
    const done = (): void => {
      watchers.delete(watcher);
      if (timer) clearTimeout(timer);
    };
    req.on('close', done);
    res.on('close', done);
  }

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) {
        res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify(status(500, 'InternalError', (err as Error).message)));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;

  const api: KubeApiServer = {
    url,
    requests,
    kubeConfig(namespace = 'default') {
      const kc = new k8s.KubeConfig();
      kc.loadFromOptions({
        clusters: [{ name: 'test', server: url, skipTLSVerify: true }],
        users: [{ name: 'test' }],
        contexts: [{ name: 'test', cluster: 'test', user: 'test', namespace }],
        currentContext: 'test',
      });
      return kc;
    },
    get: (resource, namespace, name) => {
      const o = storeOf(resource).get(keyOf(RESOURCES[resource]!.namespaced ? namespace : null, name));
      return o ? structuredClone(o) : undefined;
    },
    list: (resource, namespace = null, labelSelector) => listObjects(resource, namespace, labelSelector),
    put(resource, object) {
      const namespace = RESOURCES[resource]!.namespaced ? (object.metadata.namespace ?? 'default') : null;
      const name = object.metadata.name!;
      const store = storeOf(resource);
      const existing = store.get(keyOf(namespace, name));
      const obj = structuredClone(object);
      obj.metadata.uid = existing?.metadata.uid ?? obj.metadata.uid ?? randomUUID();
      obj.metadata.creationTimestamp ??= new Date().toISOString();
      stamp(resource, obj, namespace);
      store.set(keyOf(namespace, name), obj);
      emit(resource, existing ? 'MODIFIED' : 'ADDED', obj);
      return structuredClone(obj);
    },
    remove: (resource, namespace, name) =>
      deleteObject(resource, RESOURCES[resource]!.namespaced ? namespace : null, name) !== undefined,
    addNode(name, labels = {}) {
      return api.put('nodes', {
        metadata: { name, labels: { 'kubernetes.io/hostname': name, ...labels } },
        spec: {},
        status: { conditions: [{ type: 'Ready', status: 'True' }] },
      });
    },
    removeNode: (name) => deleteObject('nodes', null, name) !== undefined,
    setPodStatus(namespace, name, patch) {
      const current = storeOf('pods').get(keyOf(namespace, name));
      if (!current) throw new Error(`pod ${namespace}/${name} not found`);
      const next = replaceObject(
        'pods',
        namespace,
        name,
        { metadata: {}, status: { ...current.status, ...patch } },
        true,
      );
      if ('error' in next) throw new Error(String(next.message));
      return structuredClone(next);
    },
    runPods(namespace, labelSelector, podIP = '127.0.0.1') {
      const pods = listObjects('pods', namespace, labelSelector).filter((p) => p.status?.phase !== 'Running');
      for (const p of pods) api.setPodStatus(namespace, p.metadata.name!, runningStatus(podIP));
      return pods.length;
    },
    failNext(method, pattern, code) {
      failures.push({ method, pattern, status: code });
    },
    expireWatches() {
      compactedBelow = revision;
      history.length = 0;
      for (const w of watchers) w.res.end(gone + '\n');
      watchers.clear();
    },
    dropWatches() {
      for (const w of watchers) w.res.destroy();
      watchers.clear();
    },
    finishTermination: (namespace, name) => finishTermination(namespace, name),
    async close() {
      for (const t of terminationTimers) clearTimeout(t);
      terminationTimers.clear();
      for (const w of watchers) w.res.end();
      watchers.clear();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return api;
}
