import { describe, expect, it } from 'vitest';
import { VersionSplitConfig, createVersionSplit, fnv1a } from './version-split.js';

const split = (weights: Record<string, number>, stickyHeader?: string) =>
  createVersionSplit(VersionSplitConfig.parse({ split: { codetr: weights }, stickyHeader }));

const shares = (picks: (string | null)[]) => {
  const out: Record<string, number> = {};
  for (const p of picks) out[String(p)] = (out[String(p)] ?? 0) + 1 / picks.length;
  return out;
};

describe('version split', () => {
  it('sends 2,000 unversioned requests within ±3 % of the weights (exactly, being round-robin)', () => {
    const s = split({ '1': 90, '2': 10 });
    const picks = Array.from({ length: 2000 }, () => s.choose('codetr', null, undefined));
    expect(picks.filter((v) => v === '2').length).toBe(200);
    const three = split({ a: 50, b: 30, c: 20 });
    const got = shares(Array.from({ length: 2000 }, () => three.choose('codetr', null, undefined)));
    for (const [v, w] of Object.entries({ a: 0.5, b: 0.3, c: 0.2 }))
      expect(Math.abs(got[v]! - w)).toBeLessThanOrEqual(0.03);
  });

  it('spreads 2,000 sticky clients within ±3 % of the weights, each always to the same version', () => {
    const s = split({ '1': 90, '2': 10 }, 'X-Client-Id');
    const first = Array.from({ length: 2000 }, (_, i) => s.choose('codetr', null, `client-${i}`));
    expect(Math.abs(shares(first)['2']! - 0.1)).toBeLessThanOrEqual(0.03);
    const again = Array.from({ length: 2000 }, (_, i) => s.choose('codetr', null, `client-${i}`));
    expect(again).toEqual(first);
    expect(s.stickyKey({ 'x-client-id': 'cam-1' })).toBe('cam-1');
    expect(s.stickyKey({})).toBeUndefined();
  });

  it('leaves versioned requests and models without a split alone; a zero weight takes a version out', () => {
    const s = split({ '1': 100, '2': 0 });
    expect(s.choose('codetr', '2', undefined)).toBe('2');
    expect(s.choose('other', null, undefined)).toBeNull();
    expect(s.covers('codetr')).toBe(true);
    expect(new Set(Array.from({ length: 50 }, () => s.choose('codetr', null, 'k')))).toEqual(new Set(['1']));
    expect(() => VersionSplitConfig.parse({ split: { codetr: { '1': 0 } } })).toThrow(/weight above 0/);
  });

  it('hashes with FNV-1a (the same pin in every gateway copy)', () => {
    expect(fnv1a('')).toBe(0x811c9dc5);
    expect(fnv1a('a')).toBe(0xe40c292c);
  });
});
