import { describe, expect, it } from 'vitest';
import { modelSet, type ChosenBatch, type SchedulerModel } from './model-set.js';

const model = (over: Partial<SchedulerModel>): SchedulerModel => ({
  name: 'codetr',
  version: '1',
  declaredBytes: 100,
  manifest: '/m',
  minReplicas: 1,
  maxReplicas: 1,
  targetInFlightPerReplica: 2,
  ...over,
});

describe('modelSet', () => {
  it('labels versions apart only where a name has several; finds a placed replica’s model', () => {
    const configured = [model({}), model({ version: '2' }), model({ name: 'shapes' })];
    const set = modelSet(configured);
    expect(set.versioned).toEqual(['codetr']);
    expect(set.models.map((m) => set.labelOf(m))).toEqual(['codetr@1', 'codetr@2', 'shapes']);
    expect(set.labelOf({ model: 'shapes', version: '1' })).toBe('shapes');
    expect(set.find('codetr', '2')).toMatchObject({ name: 'codetr', version: '2' });
    expect(set.find('codetr', '3')).toBeUndefined();
    expect(set.models[0]).not.toBe(configured[0]); // its own copies
  });

  it('reads a chosen max batch and its footprint, else what is configured', () => {
    const set = modelSet([model({}), model({ name: 'shapes', maxBatch: 4 })]);
    const [codetr, shapes] = set.models;
    const choices = new Map<string, ChosenBatch>();
    expect(set.maxBatch(codetr!, choices)).toBeUndefined();
    expect(set.declaredBytes(codetr!, choices)).toBe(100);
    expect(set.maxBatch(shapes!, choices)).toBe(4);
    choices.set('codetr', { maxBatch: 2, declaredBytes: 180 });
    expect(set.maxBatch(codetr!, choices)).toBe(2);
    expect(set.declaredBytes(codetr!, choices)).toBe(180);
    expect(codetr!.declaredBytes).toBe(100); // the model itself is left as configured
  });
});
