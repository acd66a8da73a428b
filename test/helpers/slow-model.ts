import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, renameSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT } from './cli-process.js';

const run = promisify(execFile);
const GENERATOR = path.join(REPO_ROOT, 'models', 'shapes', 'generate_slow.py');

/**
 * The stand-in slow model (models/shapes/generate_slow.py): the shapes detector whose inference costs about
 * `ms` per frame, generated once per machine into the temp folder (keyed by the generator's sources) with
 * /usr/bin/python3 and python3-onnx (scripts/system-deps.sh). `scratchMiB` adds working memory per frame
 * (`--scratch-mib`: ~5× that alive at the peak), like a big detector's activations. Returns the model folder.
 *
 * @example
 * const dir = await slowShapesModel(400);
 * const replica = await startReplica({ model: dir, args: ['--max-batch', '4'] });
 */
export async function slowShapesModel(ms: number, { scratchMiB = 0 } = {}): Promise<string> {
  const sources = ['generate.py', 'generate_slow.py', 'manifest.json'].map((f) =>
    readFileSync(path.join(REPO_ROOT, 'models', 'shapes', f)),
  );
  const key = createHash('sha256').update(Buffer.concat(sources)).digest('hex').slice(0, 12);
  const dir = path.join(os.tmpdir(), `gpumux-shapes-slow-${ms}ms-${scratchMiB}mib-${key}`);
  if (existsSync(path.join(dir, 'manifest.json'))) return dir;
  const tmp = `${dir}.${process.pid}.${Date.now()}`;
  const args = [GENERATOR, '--ms', String(ms), '--scratch-mib', String(scratchMiB), '--out', tmp];
  await run('/usr/bin/python3', args, {
    cwd: path.dirname(GENERATOR),
  });
  try {
    renameSync(tmp, dir); // atomic: a parallel test file either sees the whole folder or none
  } catch {
    rmSync(tmp, { recursive: true, force: true }); // another process got there first
  }
  return dir;
}
