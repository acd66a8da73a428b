/**
 * Proxy benchmark: the same wrk load straight to an upstream, through the gpumux gateway, and through nginx
 * as a reverse proxy to the same upstream, with tiny and ~200 KB POST bodies. Prints throughput, p50/p99 and
 * the gateway's ratios to nginx.
 *
 * The upstream is a stand-in replica (test/gateway/fake-replica.ts: /v1/stats per the contract, and an
 * instant JSON answer to POST /v2/models/shapes/infer), so the proxy is measured, not the model.
 * Every process is a child that is stopped at the end; each run is bounded by --seconds.
 *
 * On a small shared machine one run says little: nginx and the gateway are measured in alternation
 * (--rounds pairs per body) and the ratio of each pair is reported, with the range. Besides throughput,
 * each run reports the proxy's CPU time per request (from /proc: user+system of the proxy's processes,
 * all threads), which is what the throughput ratio comes down to when the CPU is the limit and is far
 * less noisy. --pin gives every setup the same CPU split: the proxy (nginx's worker or the gateway) alone
 * on CPU 1, wrk and the upstream on CPU 0.
 *
 *   npx tsx bench/gateway.ts [--seconds 5] [--connections 16] [--rounds 3] [--bodies tiny,large] [--pin]
 *                            [--gateway-node-args "--cpu-prof --cpu-prof-dir=/tmp/prof"] [--json]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values: args } = parseArgs({
  options: {
    seconds: { type: 'string', default: '5' },
    connections: { type: 'string', default: '16' },
    rounds: { type: 'string', default: '3' },
    bodies: { type: 'string', default: 'tiny,large' },
    pin: { type: 'boolean', default: false },
    'gateway-node-args': { type: 'string', default: '' },
    json: { type: 'boolean', default: false },
    upstream: { type: 'boolean', default: false },
  },
});

if (args.upstream) {
  // Child mode: run the stand-in replica and print its URL.
  const { startFakeReplica } = await import('../test/gateway/fake-replica.js');
  const fake = await startFakeReplica({ id: 'bench', maxBatch: 256 });
  process.stdout.write(`${fake.url}\n`);
  process.on('SIGTERM', () => void fake.close().then(() => process.exit(0)));
} else {
  await main();
}

interface WrkResult {
  requests: number;
  seconds: number;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

function firstLine(
  child: ChildProcess,
  stream: 'stdout' | 'stderr',
  match: (line: string) => string | null,
  what: string,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what} did not start`)), 30_000);
    createInterface({ input: child[stream]! }).on('line', (line) => {
      const m = match(line);
      if (m) {
        clearTimeout(timer);
        resolve(m);
      }
    });
    child.once('exit', (code) => reject(new Error(`${what} exited with ${code}`)));
  });
}

async function waitHttp(url: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    try {
      if ((await fetch(url)).status < 500) return;
    } catch {
      // not yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} never answered`);
}

function wrk(url: string, script: string, seconds: number, connections: number): Promise<WrkResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      '/usr/bin/wrk',
      ['-t1', `-c${connections}`, `-d${seconds}s`, '--timeout', '10s', '-s', script, url],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('exit', (code) => {
      const m = /BENCH (\{.*\})/.exec(out);
      if (code !== 0 || !m) return reject(new Error(`wrk failed (${code}): ${out}`));
      const r = JSON.parse(m[1]!) as {
        requests: number;
        duration_us: number;
        p50_us: number;
        p99_us: number;
        errors: number;
        non2xx: number;
      };
      const secondsRun = r.duration_us / 1e6;
      resolve({
        requests: r.requests,
        seconds: secondsRun,
        rps: r.requests / secondsRun,
        p50Ms: r.p50_us / 1000,
        p99Ms: r.p99_us / 1000,
        errors: r.errors + r.non2xx,
      });
    });
  });
}

function luaScript(dir: string, bodyFile: string): string {
  const file = path.join(dir, `${path.basename(bodyFile)}.lua`);
  writeFileSync(
    file,
    `local f = io.open(${JSON.stringify(bodyFile)}, "rb")
wrk.method = "POST"
wrk.body = f:read("*all")
f:close()
wrk.headers["Content-Type"] = "application/octet-stream"
local non2xx = 0
response = function(status, headers, body)
  if status < 200 or status > 299 then non2xx = non2xx + 1 end
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('BENCH {"requests":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,"errors":%d,"non2xx":%d}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect + e.read + e.write + e.timeout, non2xx))
end
`,
  );
  return file;
}

function nginxConfig(dir: string, port: number, upstream: string): string {
  const file = path.join(dir, 'nginx.conf');
  const u = new URL(upstream);
  writeFileSync(
    file,
    `worker_processes 1;
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/nginx-error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  upstream replica { server ${u.host}; keepalive 64; }
  server {
    listen 127.0.0.1:${port};
    client_max_body_size 64m;
    client_body_buffer_size 1m;
    location / {
      proxy_pass http://replica;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
`,
  );
  return file;
}

async function main(): Promise<void> {
  const seconds = Number(args.seconds);
  const connections = Number(args.connections);
  const dir = mkdtempSync(path.join(tmpdir(), 'gpumux-bench-'));
  const children: ChildProcess[] = [];
  const node = (argv: string[], env: Record<string, string> = {}) => {
    const child = spawn(process.execPath, ['--import', 'tsx', ...argv], {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    return child;
  };
  try {
    const upstreamChild = node([fileURLToPath(import.meta.url), '--upstream']);
    const upstream = await firstLine(
      upstreamChild,
      'stdout',
      (l) => (l.startsWith('http://') ? l.trim() : null),
      'upstream',
    );

    const gatewayChild = node(
      [
        'cli/main.ts',
        'gateway',
        '--replica',
        upstream,
        '--port',
        '0',
        '--admin-port',
        '0',
        '--host',
        '127.0.0.1',
      ],
      { GPUMUX_LOG_LEVEL: 'info' },
    );
    const gatewayUrl = await firstLine(
      gatewayChild,
      'stderr',
      (l) => {
        try {
          const r = JSON.parse(l) as { msg?: string; url?: string };
          return r.msg === 'gateway listening' ? r.url! : null;
        } catch {
          return null;
        }
      },
      'gateway',
    );
    gatewayChild.stderr!.resume();
    await waitHttp(`${gatewayUrl}/v2/health/ready`);
    for (let i = 0; i < 50; i++) {
      if ((await fetch(`${gatewayUrl}/v2/health/ready`)).status === 200) break;
      await new Promise((r) => setTimeout(r, 100));
    }

    const nginxPort = await freePort();
    const nginx = spawn(
      '/usr/sbin/nginx',
      ['-p', dir, '-c', nginxConfig(dir, nginxPort, upstream), '-e', path.join(dir, 'nginx-error.log')],
      { stdio: 'ignore' },
    );
    children.push(nginx);
    const nginxUrl = `http://127.0.0.1:${nginxPort}`;
    await waitHttp(`${nginxUrl}/v1/stats`);

    const tiny = path.join(dir, 'tiny.bin');
    writeFileSync(tiny, Buffer.from('{"inputs":[]}'));
    const large = path.join(dir, 'large.bin');
    writeFileSync(large, Buffer.alloc(200 * 1024, 0x5a));
    const path_ = '/v2/models/shapes/infer';
    const rows: { body: string; target: string; result: WrkResult; idle: WrkResult }[] = [];
    for (const [body, file] of [
      ['tiny (13 B)', tiny],
      ['200 KiB', large],
    ] as const) {
      const script = luaScript(dir, file);
      for (const [target, base] of [
        ['direct', upstream],
        ['nginx', nginxUrl],
        ['gateway', gatewayUrl],
      ] as const) {
        await wrk(base + path_, script, 1, connections); // warm-up (JIT, keep-alive pools)
        const result = await wrk(base + path_, script, seconds, connections);
        // One connection: latency with no queueing, what a proxy adds to a single request.
        const idle = await wrk(base + path_, script, Math.min(seconds, 3), 1);
        rows.push({ body, target, result, idle });
      }
    }
    const table = rows.map(({ body, target, result, idle }) => {
      const direct = rows.find((r) => r.body === body && r.target === 'direct')!;
      return {
        body,
        target,
        rps: Math.round(result.rps),
        p50Ms: Number(result.p50Ms.toFixed(3)),
        p99Ms: Number(result.p99Ms.toFixed(3)),
        errors: result.errors,
        c1P50Ms: Number(idle.p50Ms.toFixed(3)),
        c1P99Ms: Number(idle.p99Ms.toFixed(3)),
        c1AddedP50Ms: Number((idle.p50Ms - direct.idle.p50Ms).toFixed(3)),
      };
    });
    const ratios = ['tiny (13 B)', '200 KiB'].map((body) => {
      const g = rows.find((r) => r.body === body && r.target === 'gateway')!.result;
      const n = rows.find((r) => r.body === body && r.target === 'nginx')!.result;
      const gi = rows.find((r) => r.body === body && r.target === 'gateway')!.idle;
      const ni = rows.find((r) => r.body === body && r.target === 'nginx')!.idle;
      const di = rows.find((r) => r.body === body && r.target === 'direct')!.idle;
      return {
        body,
        gatewayOverNginxThroughput: Number((g.rps / n.rps).toFixed(3)),
        gatewayAddedP50Ms: Number((gi.p50Ms - di.p50Ms).toFixed(3)),
        nginxAddedP50Ms: Number((ni.p50Ms - di.p50Ms).toFixed(3)),
      };
    });
    if (args.json)
      process.stdout.write(JSON.stringify({ seconds, connections, table, ratios }, null, 2) + '\n');
    else {
      console.log(
        `wrk -t1 -c${connections} -d${seconds}s (and -c1 for the c1 columns), POST ${path_}; upstream: stand-in replica (instant JSON answer)`,
      );
      console.table(table);
      console.table(ratios);
    }
  } finally {
    for (const c of children.reverse()) c.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 300));
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}
