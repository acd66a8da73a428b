import { describe, expect, it } from 'vitest';
import { parseSchedulerConfig } from './load.js';
import { parseDuration } from '../../common/duration.js';

describe('scheduler config', () => {
  it('fills defaults and turns sizes and durations into bytes and milliseconds', () => {
    const c = parseSchedulerConfig({ models: [{ name: 'codetr', manifest: '/app/models/codetr' }] });
    expect(c.policy).toBe('throughput');
    expect(c.reserve).toBe(512 * 1024 ** 2);
    expect(c.footprintMargin).toBe(0.05);
    expect(c.models[0]).toMatchObject({ minReplicas: 1, maxReplicas: 20, targetInFlightPerReplica: 2 });
    expect(c.demand).toEqual({
      interval: 15_000,
      scaleUpCooldown: 30_000,
      scaleDownCooldown: 300_000,
      gatewayUrl: null,
      gatewayTokenFile: null,
    });
    expect(c.orchestrator).toMatchObject({
      kind: 'kubernetes',
      namespace: 'gpumux',
      gpuMode: 'pinned',
      replicaPort: 8081,
      owner: null,
    });
    expect(c.leaderElection).toMatchObject({
      enabled: true,
      leaseDuration: 15_000,
      renewDeadline: 10_000,
      retryPeriod: 2_000,
    });
    expect(c.profiles.configMap).toBe('gpumux-profiles');
    expect(c.gpus).toEqual({
      source: 'kubernetes',
      nodeSelector: {},
      memory: null,
      static: [],
      notReadyGrace: 300_000,
    });
    expect(c.rollout).toEqual({ maxUnavailable: 1 });
    expect(c.orchestrator.startup).toEqual({
      schedule: 300_000,
      pull: 1_800_000,
      fetch: 1_800_000,
      stuck: 300_000,
      backoff: 10_000,
    });
  });

  it('accepts the contract example (docs/contracts.md §4)', () => {
    const c = parseSchedulerConfig({
      policy: 'spread',
      reserve: '1GiB',
      maxReplicasPerGpu: 2,
      footprintMargin: 0.1,
      gpus: {
        source: 'static',
        static: [{ node: 'gpu-1', count: 1, memory: '24564MiB', product: 'NVIDIA GeForce RTX 4090' }],
      },
      models: [
        {
          name: 'codetr',
          manifest: '/app/models/codetr',
          onnx: '/models/codetr/model.onnx',
          minReplicas: 1,
          maxReplicas: 20,
        },
      ],
      orchestrator: {
        kind: 'kubernetes',
        namespace: 'gpumux',
        gpuMode: 'time-slicing',
        owner: { kind: 'Deployment', name: 'gpumux-scheduler' },
      },
      profiles: { configMap: 'gpumux-profiles' },
    });
    expect(c.gpus.static[0]!.memory).toBe(24564 * 1024 ** 2);
    expect(c.orchestrator.owner).toEqual({
      kind: 'Deployment',
      name: 'gpumux-scheduler',
      apiVersion: 'apps/v1',
    });
  });

  it('two versions of one model are two entries, keyed by name and version', () => {
    const c = parseSchedulerConfig({
      models: [
        { name: 'codetr', version: 1, manifest: '/app/models/codetr', trafficWeight: 90 },
        {
          name: 'codetr',
          version: '2',
          manifest: '/app/models/codetr-v2',
          trafficWeight: 10,
          minReplicas: 1,
        },
      ],
    });
    expect(c.models.map((m) => [m.name, m.version, m.manifest, m.trafficWeight])).toEqual([
      ['codetr', '1', '/app/models/codetr', 90],
      ['codetr', '2', '/app/models/codetr-v2', 10],
    ]);
  });

  it.each<[string, unknown, RegExp]>([
    ['no models', {}, /models/],
    [
      'one version twice',
      {
        models: [
          { name: 'codetr', version: '2', manifest: 'x' },
          { name: 'codetr', version: '2', manifest: 'y' },
        ],
      },
      /models\[1\]\.version: duplicate model codetr version 2/,
    ],
    [
      'two entries of one name, one without its version',
      {
        models: [
          { name: 'codetr', version: '2', manifest: 'x' },
          { name: 'codetr', manifest: 'y' },
        ],
      },
      /duplicate model codetr: 2 entries of one name must each name their version/,
    ],
    [
      'a version no label can carry',
      { models: [{ name: 'codetr', version: '2 beta', manifest: 'x' }] },
      /a version: letters, digits/,
    ],
    [
      'a negative traffic weight',
      { models: [{ name: 'a', manifest: 'x', trafficWeight: -1 }] },
      /trafficWeight/,
    ],
    [
      'min above max',
      { models: [{ name: 'a', manifest: 'x', minReplicas: 3, maxReplicas: 1 }] },
      /maxReplicas must be ≥ minReplicas/,
    ],
    [
      'minReplicas 0 (no scale-from-zero)',
      { models: [{ name: 'a', manifest: 'x', minReplicas: 0 }] },
      /minReplicas must be ≥ 1/,
    ],
    ['bad size', { reserve: 'lots', models: [{ name: 'a', manifest: 'x' }] }, /reserve: invalid size/],
    [
      'static without GPUs',
      { gpus: { source: 'static' }, models: [{ name: 'a', manifest: 'x' }] },
      /gpus.static/,
    ],
    [
      'duplicate model',
      {
        models: [
          { name: 'a', manifest: 'x' },
          { name: 'a', manifest: 'y' },
        ],
      },
      /duplicate model a/,
    ],
    [
      'renewDeadline ≥ leaseDuration',
      {
        models: [{ name: 'a', manifest: 'x' }],
        leaderElection: { leaseDuration: '5s', renewDeadline: '5s' },
      },
      /renewDeadline/,
    ],
    ['unknown key', { models: [{ name: 'a', manifest: 'x' }], polcy: 'spread' }, /polcy/],
  ])('refuses %s', (_name, input, message) => expect(() => parseSchedulerConfig(input)).toThrow(message));

  it.each<[string | number, number]>([
    ['15s', 15_000],
    ['500ms', 500],
    ['5m', 300_000],
    [250, 250],
    ['1.5s', 1500],
  ])('duration %j', (input, ms) => expect(parseDuration(input)).toBe(ms));
});
