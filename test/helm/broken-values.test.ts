import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { helmTemplateRaw } from './chart.js';

/** A broken values file must fail the render with the chart's own, actionable message. */

const dir = join(fileURLToPath(new URL('.', import.meta.url)), 'broken-values');

const CASES: { file: string; message: RegExp }[] = [
  { file: 'model-without-source.yaml', message: /models\[0\] \(codetr\) has no url and modelStorage\.preloaded is false: set models\[0\]\.url/ },
  { file: 'url-without-sha256.yaml', message: /models\[0\] \(codetr\) has a url but no sha256: set models\[0\]\.sha256/ },
  // curl cannot fetch object-store URLs: refused with the way to get an https one
  { file: 'object-store-url.yaml', message: /models\[0\] \(codetr\) url s3:\/\/models\/codetr\/model\.onnx cannot be downloaded: .*presign/ },
  {
    file: 'object-store-manifest-url.yaml',
    message: /models\[0\] \(codetr\) manifestUrl gs:\/\/models\/codetr\/manifest\.json cannot be downloaded: .*presign/,
  },
  { file: 'nfs-without-server.yaml', message: /modelStorage\.type is nfs but modelStorage\.nfs\.server or modelStorage\.nfs\.path is empty/ },
  { file: 'time-slicing-without-plugin-config.yaml', message: /scheduler\.gpuMode is time-slicing but timeSlicing\.enabled is false/ },
  // Versions side by side: keyed by name and version, in the scheduler's words (test/helm/versions.test.ts).
  { file: 'duplicate-model.yaml', message: /models\[0\]\.version: duplicate model shapes: 2 entries of one name must each name their version/ },
  { file: 'version-missing.yaml', message: /models\[0\]\.version: duplicate model shapes: 2 entries of one name must each name their version/ },
  { file: 'duplicate-version.yaml', message: /models\[2\]\.version: duplicate model shapes version 2 \(models\[1\] already runs it\)/ },
  { file: 'partial-traffic-weights.yaml', message: /models: some versions of shapes set trafficWeight and some do not/ },
  { file: 'zero-traffic-weights.yaml', message: /models: every version of shapes has trafficWeight 0: the gateway's versions\.split needs a version with a weight above 0/ },
  {
    file: 'min-above-default-max.yaml',
    message: /models\[0\] \(shapes\): minReplicas \(30\) is greater than maxReplicas \(20, the default\)/,
  },
  {
    file: 'time-slicing-cap-above-slices.yaml',
    message: /scheduler\.maxReplicasPerGpu \(3\) must be between 1 and timeSlicing\.replicas \(2\) in time-slicing mode/,
  },
  {
    file: 'time-slicing-without-cap.yaml',
    message: /scheduler\.maxReplicasPerGpu \(0, no cap\) must be between 1 and timeSlicing\.replicas \(4\)/,
  },
  { file: 'pdb-blocks-drain.yaml', message: /gateway\.podDisruptionBudget\.minAvailable \(1\) must be below gateway\.replicaCount \(1\)/ },
  // values.schema.json: enums, patterns and constants.
  { file: 'unknown-policy.yaml', message: /\/scheduler\/policy': value must be one of 'throughput', 'binpack', 'spread'/ },
  { file: 'root-user.yaml', message: /\/securityContext\/pod\/runAsNonRoot/ },
  { file: 'bad-sha256.yaml', message: /\/models\/0\/sha256/ },
];

describe('broken values files', () => {
  it.each(CASES)('$file fails with the chart message', ({ file, message }) => {
    const result = helmTemplateRaw([join(dir, file)]);
    expect(result.status).not.toBe(0);
    expect(result.stderr).toMatch(message);
  });
});
