import type { V1Deployment, V1Pod } from '@kubernetes/client-node';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { gatewayConfigFrom } from '../../cli/commands/gateway.js';
import { createVersionSplit } from '../../gateway/routing/version-split.js';
import { parseSchedulerConfig } from '../../scheduler/config/load.js';
import { renderReplicaPod } from '../../scheduler/orchestrators/kubernetes/pod-template.js';
import { find, helmLint, helmTemplate, helmTemplateRaw, NAMESPACE, RELEASE, type KubeObject } from './chart.js';
import { validateObject } from './kube-validate.js';
import { replicaTemplate } from './pod-specs.js';

/**
 * Versions side by side in the chart (docs/k3s.md "Canary a new export"): two `models` entries of one name,
 * each fetched to its own path, rendered into the scheduler's config (parsed by the scheduler's own loader)
 * and into the gateway's config file (parsed by the gateway's own config code, with the flags the chart
 * passes), so the chart, the scheduler and the gateway agree on the versions and their weights.
 */

const prefix = `${RELEASE}-gpumux`;
type GatewayFlags = Parameters<typeof gatewayConfigFrom>[1];
const HERE = fileURLToPath(new URL('.', import.meta.url));
const VERSIONS = join(HERE, 'versions-values.yaml');

function configMapKey(objects: KubeObject[], name: string, key: string): string {
  const text = find<{ data: Record<string, string> }>(objects, 'ConfigMap', name).data[key];
  if (text === undefined) throw new Error(`${name} has no key ${key}`);
  return text;
}

function gatewayContainer(objects: KubeObject[]) {
  const spec = find<V1Deployment>(objects, 'Deployment', `${prefix}-gateway`).spec!.template.spec!;
  return { spec, container: spec.containers.find((c) => c.name === 'gateway')! };
}

/** The `--flag=value` arguments the chart gives the gateway, as the CLI's flags object. */
function gatewayFlags(args: string[]): GatewayFlags {
  const value = (flag: string) => args.find((a) => a.startsWith(`--${flag}=`))?.slice(flag.length + 3);
  return {
    replicaPort: Number(value('replica-port')),
    pollInterval: value('poll-interval'),
    timeout: value('timeout'),
    reserve: value('reserve'),
    shutdownDelay: value('shutdown-delay'),
    config: value('config'),
  } as GatewayFlags;
}

describe('two versions of one model', () => {
  const objects = helmTemplate([VERSIONS]);
  const template: V1Pod = replicaTemplate(find(objects, 'ConfigMap', `${prefix}-replica-pod`));

  it('lints clean, and every object it renders (the gateway ConfigMap included) is schema-valid', () => {
    const lint = helmLint([VERSIONS]);
    expect(lint.status).toBe(0);
    expect(lint.stderr + lint.stdout).not.toMatch(/\[(WARNING|ERROR)\]/);
    expect(objects.filter((o) => validateObject(o).length > 0).map((o) => [o.kind, o.metadata.name, validateObject(o)])).toEqual([]);
  });

  it('fetches each version to its own path on the model volume', () => {
    const fetch = template.spec!.initContainers!.find((c) => c.name === 'fetch-model')!;
    expect(fetch.args).toEqual([
      '/models/codetr/1/model.onnx',
      'https://models.example.internal/codetr/co_dino_swin_l_2048x1280.onnx',
      'aaaa1111aaaa1111aaaa1111aaaa1111aaaa1111aaaa1111aaaa1111aaaa1111',
      '/models/codetr/2/co_dino_v2.onnx',
      'https://models.example.internal/codetr/co_dino_swin_l_2048x1280-v2.onnx',
      'bbbb2222bbbb2222bbbb2222bbbb2222bbbb2222bbbb2222bbbb2222bbbb2222',
    ]);
  });

  it("renders both entries into scheduler.yaml, which the scheduler's own loader accepts", () => {
    const config = parseSchedulerConfig(parse(configMapKey(objects, `${prefix}-scheduler`, 'scheduler.yaml')), 'scheduler.yaml');
    expect(config.models.map((m) => [m.name, m.version, m.onnx, m.trafficWeight, m.minReplicas, m.maxReplicas])).toEqual([
      ['codetr', '1', '/models/codetr/1/model.onnx', 90, 9, 18],
      ['codetr', '2', '/models/codetr/2/co_dino_v2.onnx', 10, 1, 4],
      ['shapes', undefined, undefined, undefined, 1, 20],
    ]);

    // Each version's replica pod, as the scheduler renders it, loads the file the fetch puts there.
    for (const model of config.models.filter((m) => m.name === 'codetr')) {
      const pod = renderReplicaPod(
        template,
        {
          model: model.name,
          version: model.version!,
          pinVersion: true,
          node: 'gpu-node-1',
          gpuIndex: 0,
          footprintBytes: 10_307_502_080,
          manifest: model.manifest,
          onnx: model.onnx!,
          key: `${model.name}@${model.version}/gpu-node-1/0/1`,
        },
        {
          release: config.orchestrator.release,
          namespace: NAMESPACE,
          gpuMode: config.orchestrator.gpuMode,
          replicaPort: config.orchestrator.replicaPort,
          owner: { apiVersion: 'apps/v1', kind: 'Deployment', name: `${prefix}-scheduler`, uid: '5f0c1c9e-0000-4000-8000-000000000001' },
        },
      );
      expect(validateObject(pod as KubeObject)).toEqual([]);
      expect(pod.metadata!.name).toMatch(new RegExp(`^${RELEASE}-codetr-v${model.version}-[0-9a-f]{10}$`));
      const replica = pod.spec!.containers.find((c) => c.name === 'replica')!;
      const args = replica.args!;
      expect(args[args.indexOf('--model-version') + 1]).toBe(model.version);
      expect(args[args.indexOf('--onnx') + 1]).toBe(model.onnx);
      expect(pod.spec!.initContainers!.find((c) => c.name === 'fetch-model')!.args).toContain(model.onnx);
    }
  });

  it("renders the split into the gateway's config file, which the gateway's own config code accepts", async () => {
    const text = configMapKey(objects, `${prefix}-gateway`, 'gateway.yaml');
    const { spec, container } = gatewayContainer(objects);
    const args = container.args!;
    expect(args).toContain('--config=/etc/gpumux/gateway/gateway.yaml');
    // Readiness needs each model once: any version of codetr serving makes it ready.
    expect(args).toContain('--models=codetr,shapes');
    const mount = container.volumeMounts!.find((m) => m.name === 'config')!;
    expect(mount).toEqual({ name: 'config', mountPath: '/etc/gpumux/gateway', readOnly: true });
    expect(spec.volumes!.find((v) => v.name === 'config')).toEqual({ name: 'config', configMap: { name: `${prefix}-gateway` } });
    expect(find<V1Deployment>(objects, 'Deployment', `${prefix}-gateway`).spec!.template.metadata!.annotations!['checksum/config']).toMatch(
      /^[0-9a-f]{64}$/,
    );

    // The file with the chart's flags laid over it, as `gpumux gateway` builds its configuration.
    const config = await gatewayConfigFrom(parse(text) as Record<string, unknown>, gatewayFlags(args));
    expect(config.versions).toEqual({ split: { codetr: { '1': 90, '2': 10 } }, stickyHeader: 'x-client-id' });
    expect([config.pollInterval, config.timeout, config.shutdown.notReadyDelay]).toEqual([1000, 30_000, 5000]);

    // The same weights as the scheduler's trafficWeight: 90 of every 100 unversioned requests go to version 1.
    const split = createVersionSplit(config.versions);
    const chosen = Array.from({ length: 100 }, () => split.choose('codetr', null, undefined));
    expect([chosen.filter((v) => v === '1').length, chosen.filter((v) => v === '2').length]).toEqual([90, 10]);
    expect(split.covers('shapes')).toBe(false);
    expect(split.stickyKey({ 'x-client-id': 'camera-7' })).toBe('camera-7');
  });
});

describe('without versions side by side', () => {
  it('keeps a single unversioned entry at <mountPath>/<name>/<file> and gives the gateway no config file', async () => {
    const objects = helmTemplate(['ci/rtx4090-values.yaml']);
    const template = replicaTemplate(find(objects, 'ConfigMap', `${prefix}-replica-pod`));
    expect(template.spec!.initContainers!.find((c) => c.name === 'fetch-model')!.args![0]).toBe('/models/codetr/model.onnx');
    const config = parseSchedulerConfig(parse(configMapKey(objects, `${prefix}-scheduler`, 'scheduler.yaml')), 'scheduler.yaml');
    expect(config.models.map((m) => [m.name, m.version, m.onnx])).toEqual([['codetr', undefined, '/models/codetr/model.onnx']]);
    expect(objects.filter((o) => o.kind === 'ConfigMap' && o.metadata.name === `${prefix}-gateway`)).toEqual([]);
    const { container } = gatewayContainer(objects);
    expect(container.args!.filter((a) => a.startsWith('--config'))).toEqual([]);
    // The flags alone make a valid gateway configuration (no empty --poll-interval=).
    const gateway = await gatewayConfigFrom({}, gatewayFlags(container.args!));
    expect([gateway.pollInterval, gateway.versions]).toEqual([1000, { split: {} }]);
  });

  it('fetches a single entry that names its version to <mountPath>/<name>/<version>/<file>', () => {
    const objects = helmTemplate(['ci/rtx4090-values.yaml'], ['models[0].version=3']);
    const template = replicaTemplate(find(objects, 'ConfigMap', `${prefix}-replica-pod`));
    expect(template.spec!.initContainers!.find((c) => c.name === 'fetch-model')!.args![0]).toBe('/models/codetr/3/model.onnx');
  });

  it('renders a sticky header alone into the gateway config (no split)', async () => {
    const objects = helmTemplate([], ['gateway.versions.stickyHeader=X-Client-Id']);
    const config = await gatewayConfigFrom(parse(configMapKey(objects, `${prefix}-gateway`, 'gateway.yaml')) as Record<string, unknown>, {
      replicaPort: 8081,
    } as GatewayFlags);
    expect(config.versions).toEqual({ split: {}, stickyHeader: 'x-client-id' });
  });
});

describe('refusals, in the scheduler\'s words', () => {
  // The chart refuses what the scheduler's schema refuses, before anything is installed, with the same message.
  it.each([
    ['duplicate-model.yaml', 'models[0].version: duplicate model shapes: 2 entries of one name must each name their version'],
    ['version-missing.yaml', 'models[0].version: duplicate model shapes: 2 entries of one name must each name their version'],
    ['duplicate-version.yaml', 'models[2].version: duplicate model shapes version 2'],
  ])('%s', (file, message) => {
    const path = join(HERE, 'broken-values', file);
    const result = helmTemplateRaw([path]);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(message);

    // The same models, as the chart would render them, through the scheduler's loader.
    const { models } = parse(readFileSync(path, 'utf8')) as { models: { name: string; manifest: string; version?: string | number }[] };
    const config = {
      gpus: { source: 'static', static: [{ node: 'gpu-1', memory: '24GiB' }] },
      models: models.map((m) => ({ name: m.name, manifest: m.manifest, ...(m.version !== undefined && { version: m.version }) })),
    };
    expect(() => parseSchedulerConfig(config, 'scheduler.yaml')).toThrow(message);
  });
});
