import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { ProfileData, ProfilePersistence } from './store.js';

/** Profiles in a JSON file (the local stack). Written atomically (temp file + rename). */
export function fileProfilePersistence(file: string): ProfilePersistence {
  return {
    async load() {
      try {
        const data = JSON.parse(await readFile(file, 'utf8')) as ProfileData;
        return data.version === 1 && Array.isArray(data.profiles) ? data : null;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
        throw err;
      }
    },
    async save(data) {
      await mkdir(path.dirname(file), { recursive: true });
      const tmp = `${file}.${process.pid}.tmp`;
      await writeFile(tmp, JSON.stringify(data, null, 2) + '\n');
      await rename(tmp, file);
    },
  };
}
