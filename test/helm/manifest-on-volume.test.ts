import type { V1Pod } from '@kubernetes/client-node';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { parseSchedulerConfig } from '../../scheduler/config/load.js';
import { schedulerModels } from '../../scheduler/kubernetes-stack.js';
import { find, helmTemplate, helmTemplateRaw, RELEASE } from './chart.js';
import { replicaTemplate } from './pod-specs.js';

/**
 * A model whose manifest lives on the model volume beside its ONNX file (models[].manifestUrl): the fetch
 * initContainer downloads both, replicas read the folder on the volume, and the scheduler (which does not
 * mount that volume) runs from the entry's version and declaredFootprint — so the scheduler's own loader
 * must build its models without touching the file.
 */
const prefix = `${RELEASE}-gpumux`;
const VALUES = join(fileURLToPath(new URL('.', import.meta.url)), 'manifest-values.yaml');

describe('a manifest on the model volume', () => {
  const objects = helmTemplate([VALUES]);

  it('fetches manifest.json beside the model file', () => {
    const template: V1Pod = replicaTemplate(find(objects, 'ConfigMap', `${prefix}-replica-pod`));
    expect(template.spec!.initContainers!.find((c) => c.name === 'fetch-model')!.args).toEqual([
      '/models/ppe/2/model.onnx',
      'https://models.example.internal/ppe/2/model.onnx',
      'aaaa1111aaaa1111aaaa1111aaaa1111aaaa1111aaaa1111aaaa1111aaaa1111',
      '/models/ppe/2/manifest.json',
      'https://models.example.internal/ppe/2/manifest.json',
      'bbbb2222bbbb2222bbbb2222bbbb2222bbbb2222bbbb2222bbbb2222bbbb2222',
    ]);
  });

  it('gives the scheduler the folder on the volume, and it plans without reading it', async () => {
    const cm = find<{ data: Record<string, string> }>(objects, 'ConfigMap', `${prefix}-scheduler`);
    const config = parseSchedulerConfig(parse(cm.data['scheduler.yaml']!), 'scheduler.yaml');
    expect(config.models[0]).toMatchObject({ manifest: '/models/ppe/2', onnx: '/models/ppe/2/model.onnx' });
    const [model] = await schedulerModels(config); // /models/ppe/2 does not exist here, as on the scheduler pod
    expect(model).toMatchObject({ name: 'ppe', version: '2', manifest: '/models/ppe/2', declaredBytes: 10834 * 2 ** 20 });
  });

  it.each([
    ['declaredFootprint', /set models\[0\]\.version and declaredFootprint .* the scheduler does not mount that volume/],
    ['manifestSha256', /a manifestUrl needs manifestSha256/],
    ['manifestUrl', /models\[0\] \(ppe\) has no manifest: set models\[0\]\.manifestUrl/],
  ])('refuses the entry without %s, saying what to set', (field, message) => {
    const values = parse(readFileSync(VALUES, 'utf8')) as { models: Record<string, unknown>[] };
    delete values.models[0]![field];
    const dir = mkdtempSync(join(tmpdir(), 'gpumux-manifest-values-'));
    try {
      writeFileSync(join(dir, 'values.yaml'), stringify(values));
      const result = helmTemplateRaw([join(dir, 'values.yaml')]);
      expect(result.status).not.toBe(0);
      expect(result.stderr).toMatch(message);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
