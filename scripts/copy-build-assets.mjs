#!/usr/bin/env node
// Copies what tsc does not emit but the built CLI reads at run time (the operator page's browser modules and
// the .proto files) into a build folder: `node scripts/copy-build-assets.mjs [outDir]` (default dist).
// One copy step for `npm run build` and the benchmarks' private builds.
import { cpSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const outDir = path.resolve(root, process.argv[2] ?? 'dist');
cpSync(path.join(root, 'gateway/ui/assets/browser'), path.join(outDir, 'gateway/ui/assets/browser'), {
  recursive: true,
  filter: (file) => !/[.](ts|json)$/.test(file),
});
cpSync(path.join(root, 'protos'), path.join(outDir, 'protos'), { recursive: true });
