import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { fileProfilePersistence } from './file-persistence.js';
import { createProfileStore, type ProfileData, type ProfilePersistence } from './store.js';

describe('profile store', () => {
  it('uses the declared footprint until measured, then max observed × (1 + margin), per GPU product', () => {
    const s = createProfileStore({ margin: 0.1 });
    expect(s.footprint('m', 'rtx4090', 1000)).toBe(1000);
    s.observe('m', 'rtx4090', 600);
    s.observe('m', 'rtx4090', 800);
    s.observe('m', 'rtx4090', 700);
    expect(s.footprint('m', 'rtx4090', 1000)).toBe(880);
    expect(s.source('m', 'rtx4090')).toBe('measured');
    expect(s.footprint('m', 'a100', 1000)).toBe(1000);
  });

  it('raises the footprint after an OOM', () => {
    const s = createProfileStore({ margin: 0 });
    s.observe('m', 'g', 800);
    expect(s.recordOom('m', 'g', 800)).toBe(1000);
    expect(s.footprint('m', 'g', 500)).toBe(1000);
    expect(s.source('m', 'g')).toBe('oom-raised');
  });

  it('persists to a JSON file and loads it back', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'gpumux-profiles-'));
    try {
      const persistence = fileProfilePersistence(path.join(dir, 'sub', 'profiles.json'));
      const a = createProfileStore({ margin: 0.05, persistence });
      a.observe('m', 'g', 1000);
      await a.flush();
      const b = createProfileStore({ margin: 0.05, persistence });
      await b.load();
      expect(b.footprint('m', 'g', 1)).toBe(1050);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('keeps a measurement pending when the save fails and writes it on the next flush', async () => {
    const written: ProfileData[] = [];
    let failNext = true;
    const persistence: ProfilePersistence = {
      load: () => Promise.resolve(null),
      save: (data) => {
        if (failNext) {
          failNext = false;
          return Promise.reject(new Error('configmap write refused'));
        }
        written.push(structuredClone(data));
        return Promise.resolve();
      },
    };
    const s = createProfileStore({ margin: 0, persistence });
    s.observe('m', 'g', 1000);
    await expect(s.flush()).rejects.toThrow('configmap write refused');
    await s.flush();
    expect(written.map((d) => d.profiles.map((p) => p.maxObservedBytes))).toEqual([[1000]]);
    // Saved now: nothing more to write until something changes.
    await s.flush();
    expect(written).toHaveLength(1);
  });
});
