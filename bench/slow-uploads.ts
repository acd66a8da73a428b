/**
 * Slow uploads straight to a replica (issue #19, scenario 2): N connections each sending a 2 KB image at
 * 40 bytes/s to one real replica process (models/shapes), reconnecting when cut off, while a few ordinary
 * closed-loop clients send whole images. Prints, for the ordinary clients: requests, failed (not 200, by
 * code), worst wait and p99; and what the slow uploaders were answered.
 *
 * --root runs the replica from another checkout of the project (e.g. an export of the commit before the fix,
 * with node_modules linked), so before and after are measured the same way on the same machine.
 *
 *   npx tsx bench/slow-uploads.ts [--uploaders 80] [--rate 40] [--clients 4] [--seconds 20] [--root DIR]
 */
import { spawn } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { closedLoop, quantile } from '../test/helpers/closed-loop.js';
import { drawImage } from '../test/helpers/images.js';
import { parseListeningLine } from '../replica/listening-line.js';

const HERE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values: flags } = parseArgs({
  options: {
    uploaders: { type: 'string', default: '80' },
    rate: { type: 'string', default: '40' },
    clients: { type: 'string', default: '4' },
    seconds: { type: 'string', default: '20' },
    root: { type: 'string', default: HERE },
  },
});
const root = path.resolve(flags.root);
const seconds = Number(flags.seconds);

const child = spawn(
  process.execPath,
  [
    '--import',
    'tsx',
    path.join(root, 'cli', 'main.ts'),
    'replica',
    '--model',
    path.join(root, 'models', 'shapes'),
    '--port',
    '0',
  ],
  { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] },
);
const url = await new Promise<string>((resolve, reject) => {
  let buffered = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => {
    buffered += chunk;
    for (const line of buffered.split('\n')) {
      const u = parseListeningLine(line);
      if (u) resolve(u);
    }
    buffered = buffered.slice(buffered.lastIndexOf('\n') + 1);
  });
  child.once('exit', (code) => reject(new Error(`replica exited ${code}`)));
});
const port = Number(new URL(url).port);
const image = await drawImage({ width: 48, height: 32, rects: [], format: 'png' });
const body = Buffer.concat([image, Buffer.alloc(Math.max(0, 2048 - image.byteLength))]).subarray(0, 2048);
for (;;) {
  const ready = await fetch(`${url}/v2/health/ready`).then(
    (r) => r.status,
    () => 0,
  );
  if (ready === 200) break;
  await new Promise((r) => setTimeout(r, 200));
}

const endAt = performance.now() + seconds * 1000;
const slowAnswers: Record<string, number> = {};

/** One slow uploader: 2 KB at `rate` bytes/s, again and again until the end. */
async function uploader(): Promise<void> {
  const rate = Number(flags.rate);
  while (performance.now() < endAt) {
    await new Promise<void>((resolve) => {
      const socket = net.connect(port, '127.0.0.1');
      let text = '';
      let sent = 0;
      socket.on('error', () => undefined);
      socket.on('data', (d: Buffer) => (text += d.toString('latin1')));
      socket.write(
        `POST /v1/models/shapes/detect HTTP/1.1\r\nhost: x\r\ncontent-type: image/png\r\ncontent-length: ${body.byteLength}\r\n\r\n`,
      );
      const step = Math.max(1, Math.round(rate / 10));
      const timer = setInterval(() => {
        if (sent >= body.byteLength || performance.now() > endAt) return void socket.destroy();
        socket.write(body.subarray(sent, sent + step));
        sent += step;
      }, 100);
      socket.on('close', () => {
        clearInterval(timer);
        const status = /^HTTP\/1\.1 (\d+)/.exec(text)?.[1] ?? 'none';
        slowAnswers[status] = (slowAnswers[status] ?? 0) + 1;
        resolve();
      });
    });
  }
}

const failed: Record<string, number> = {};
/** One ordinary request: the status, with a failure counted by its error code. */
async function ordinaryRequest(): Promise<number> {
  const res = await fetch(`${url}/v1/models/shapes/detect`, {
    method: 'POST',
    body: image,
    headers: { 'content-type': 'image/png' },
  });
  const text = await res.text();
  if (res.status !== 200) {
    const code = (JSON.parse(text) as { error?: { code?: string } }).error?.code ?? String(res.status);
    failed[code] = (failed[code] ?? 0) + 1;
    await new Promise((r) => setTimeout(r, 50)); // a refused client backs off a little
  }
  return res.status;
}

// the uploaders first, so they hold what they can before the ordinary clients start
const uploads = Array.from({ length: Number(flags.uploaders) }, () => uploader());
await new Promise((r) => setTimeout(r, 1000));
const ordinary = closedLoop(Number(flags.clients), ordinaryRequest);
await new Promise((r) => setTimeout(r, Math.max(0, endAt - performance.now())));
const [samples] = await Promise.all([ordinary.stop(), ...uploads]);
child.kill('SIGKILL');

for (const s of samples) if (typeof s.outcome === 'string') failed[s.outcome] = (failed[s.outcome] ?? 0) + 1;
const waits = samples.map((s) => s.durationMs);
const failures = Object.values(failed).reduce((a, b) => a + b, 0);
console.log(
  JSON.stringify(
    {
      root,
      uploaders: Number(flags.uploaders),
      rateBytesPerSecond: Number(flags.rate),
      seconds,
      ordinary: {
        requests: waits.length,
        failed: failures,
        failedBy: failed,
        p50Ms: Math.round(quantile(waits, 0.5)),
        p99Ms: Math.round(quantile(waits, 0.99)),
        worstMs: Math.round(quantile(waits, 1)),
      },
      slowUploadsAnswered: slowAnswers,
    },
    null,
    2,
  ),
);
process.exit(0);
