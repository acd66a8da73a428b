import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

// .npmrc keeps `npm ci` inside the npm registry (onnxruntime-node's postinstall would fetch CUDA libraries
// from elsewhere) with settings npm knows: no "Unknown project config" warning on every npm command.
const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const ORT = path.join(REPO, 'node_modules', 'onnxruntime-node');

describe('.npmrc', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'gpumux-npmrc-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('warns about nothing', () => {
    const run = spawnSync('npm', ['config', 'get', 'node-options'], { cwd: REPO, encoding: 'utf8' });
    expect(run.status).toBe(0);
    expect(run.stderr).not.toMatch(/Unknown (project|user|global) config/);
  });

  it("makes onnxruntime-node's install script, run the way npm runs it, skip its download", () => {
    // a copy of the package's script folder: whatever the script would fetch lands in `dir`, not the install
    cpSync(path.join(ORT, 'script'), path.join(dir, 'script'), { recursive: true });
    cpSync(path.join(ORT, 'package.json'), path.join(dir, 'package.json'));
    const env = { ...process.env };
    delete env.NODE_OPTIONS;
    delete env.ONNXRUNTIME_NODE_INSTALL;
    // npm_package_json as npm sets it for a dependency's script (else the script takes it for its own checkout)
    const script = `npm_package_json=${dir}/package.json node ${path.join(dir, 'script', 'install.js')}`;
    execFileSync('npm', ['exec', '-c', script], {
      cwd: REPO,
      env: { ...env, NODE_PATH: path.join(REPO, 'node_modules') }, // its own dependencies (global-agent, …)
      stdio: 'pipe',
      timeout: 30_000,
    });
    expect(existsSync(path.join(dir, 'bin'))).toBe(false);
    // an explicit choice (a GPU image's cuda12) still wins over the default
    const chosen = execFileSync('npm', ['exec', '-c', 'node -p process.env.ONNXRUNTIME_NODE_INSTALL'], {
      cwd: REPO,
      env: { ...env, ONNXRUNTIME_NODE_INSTALL: 'cuda12' },
      encoding: 'utf8',
    });
    expect(chosen.trim()).toBe('cuda12');
  });
});
