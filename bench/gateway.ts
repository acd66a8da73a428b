/**
 * Proxy benchmark: the same wrk load straight to an upstream, through the gpumux gateway, through nginx as a
 * reverse proxy to the same upstream, and through Node's floor (bench/node-floor-proxy.mjs: the least a proxy
 * on node:http + undici does), with tiny and ~200 KB POST bodies. Prints throughput, p50/p99 and the ratios to
 * nginx: the floor's ratio is what Node's HTTP stack allows, the gateway's below it is what gpumux adds.
 *
 * The upstream is a stand-in replica (test/gateway/fake-replica.ts: /v1/stats per the contract, and an
 * instant JSON answer to POST /v2/models/shapes/infer), so the proxy is measured, not the model.
 * Every process is a child that is stopped at the end; each run is bounded by --seconds.
 *
 * On a small shared machine one run says little: nginx and the gateway are measured in alternation
 * (--rounds rounds per body, nginx, floor and gateway in turn) and the ratio of each round is reported, with the range. Besides throughput,
 * each run reports the proxy's CPU time per request (from /proc: user+system of the proxy's processes,
 * all threads), which is what the throughput ratio comes down to when the CPU is the limit (it varies too when other
 * work shares the cores, but less), and for the Node proxies the V8 mark-compacts during the run (`fullGcs`, from
 * --trace-gc: at 200 KiB a run with them costs about twice one without). --pin gives every setup the same CPU
 * split: the proxy (nginx's worker or the gateway) alone on CPU 1, wrk and the upstream on CPU 0.
 *
 * The gateway runs as it ships: the tsc build (`node dist/cli/main.js`), compiled first into
 * node_modules/.cache/gpumux-bench-dist so the shared dist/ is left alone. --tsx runs the sources through
 * tsx instead (esbuild's keepNames adds a `__name()` call per closure made: ~10 µs per request here).
 *
 *   npx tsx bench/gateway.ts [--seconds 5] [--connections 16] [--rounds 3] [--bodies tiny,large] [--pin] [--tsx]
 *                            [--gateway-node-args="--cpu-prof --cpu-prof-dir=/tmp/prof"] [--json]
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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
    tsx: { type: 'boolean', default: false },
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

/** `cmd args` under `taskset -c cpu` when pinning, else as is. */
function pinned(cpu: number | null, cmd: string, argv: string[]): [string, string[]] {
  return cpu === null ? [cmd, argv] : ['/usr/bin/taskset', ['-c', String(cpu), cmd, ...argv]];
}

/** CPU seconds (user + system, all threads) used so far by `pids`, from /proc. */
function cpuSeconds(pids: number[]): number {
  let ticks = 0;
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14, 15 of proc(5))
    } catch {
      // gone
    }
  }
  return ticks / 100; // USER_HZ is 100 on Linux
}

/** Read and write syscalls made so far by `pids` (/proc/<pid>/io: syscr, syscw). */
function syscalls(pids: number[]): number {
  let n = 0;
  for (const pid of pids) {
    try {
      const io = readFileSync(`/proc/${pid}/io`, 'utf8');
      n += Number(/syscr: (\d+)/.exec(io)?.[1] ?? 0) + Number(/syscw: (\d+)/.exec(io)?.[1] ?? 0);
    } catch {
      // gone, or not readable
    }
  }
  return n;
}

/** A process and its children (nginx's master and worker). */
function processTree(pid: number): number[] {
  try {
    const kids = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
    return [pid, ...(kids ? kids.split(' ').map(Number) : [])];
  } catch {
    return [pid];
  }
}

function wrk(
  url: string,
  script: string,
  seconds: number,
  connections: number,
  cpu: number | null,
): Promise<WrkResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      ...pinned(cpu, '/usr/bin/wrk', [
        '-t1',
        `-c${connections}`,
        `-d${seconds}s`,
        '--timeout',
        '10s',
        '-s',
        script,
        url,
      ]),
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

interface Measured {
  result: WrkResult;
  /** Proxy CPU (user + system) per request, microseconds; the upstream's for `direct`. */
  proxyCpuUs: number;
  upstreamCpuUs: number;
  /** Proxy read + write syscalls per request (the upstream's for `direct`). */
  proxySyscalls: number;
  /** V8 mark-compacts in the proxy during the run (Node proxies only): the bimodal cost at 200 KiB. */
  fullGcs: number | null;
}

/**
 * Counts the mark-compacts a Node child reports with --trace-gc (one line per GC on its stdout, which this
 * also drains). At 200 KiB a run's cost depends on whether V8 starts full GCs for the parser's per-chunk
 * Buffers (docs/benchmarks.md, "Node's floor"), so each run says how many it had.
 */
function fullGcCounter(child: ChildProcess): () => number {
  let count = 0;
  createInterface({ input: child.stdout! }).on('line', (line) => {
    if (line.includes('Mark-Compact')) count++;
  });
  return () => count;
}

/** Compiles the CLI with the production tsconfig into a private folder; returns its entry point. */
function buildGateway(): string {
  const outDir = path.join(ROOT, 'node_modules', '.cache', 'gpumux-bench-dist');
  // Type errors elsewhere in the tree do not stop tsc from emitting; a missing entry point does stop us.
  spawnSync(
    process.execPath,
    [
      path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'),
      '-p',
      'tsconfig.build.json',
      '--outDir',
      outDir,
    ],
    { cwd: ROOT, stdio: 'ignore' },
  );
  const entry = path.join(outDir, 'cli', 'main.js');
  if (!existsSync(entry)) throw new Error(`tsc did not produce ${entry}`);
  // the built gateway reads its browser modules and protos at start-up: the same copy step as `npm run build`
  const copied = spawnSync(process.execPath, [path.join(ROOT, 'scripts', 'copy-build-assets.mjs'), outDir], {
    cwd: ROOT,
    stdio: 'inherit',
  });
  if (copied.status !== 0) throw new Error('copying the build assets failed');
  return entry;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

function round(x: number, digits = 3): number {
  return Number(x.toFixed(digits));
}

async function main(): Promise<void> {
  const seconds = Number(args.seconds);
  const connections = Number(args.connections);
  const rounds = Math.max(1, Number(args.rounds));
  const pin = args.pin;
  // Pinned: the proxy alone on CPU 1; wrk and the upstream share CPU 0.
  const proxyCpu = pin ? 1 : null;
  const loadCpu = pin ? 0 : null;
  const gatewayNodeArgs = args['gateway-node-args'].split(' ').filter((a) => a.length > 0);
  const gatewayEntry = args.tsx ? ['--import', 'tsx', 'cli/main.ts'] : [buildGateway()];
  const dir = mkdtempSync(path.join(tmpdir(), 'gpumux-bench-'));
  const children: ChildProcess[] = [];
  const node = (cpu: number | null, argv: string[], env: Record<string, string> = {}) => {
    const child = spawn(...pinned(cpu, process.execPath, argv), {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    return child;
  };
  try {
    const upstreamChild = node(loadCpu, ['--import', 'tsx', fileURLToPath(import.meta.url), '--upstream']);
    const upstream = await firstLine(
      upstreamChild,
      'stdout',
      (l) => (l.startsWith('http://') ? l.trim() : null),
      'upstream',
    );

    const gatewayChild = node(
      proxyCpu,
      [
        '--trace-gc',
        ...gatewayNodeArgs,
        ...gatewayEntry,
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
    gatewayChild.stderr.resume();
    await waitHttp(`${gatewayUrl}/v2/health/ready`);
    for (let i = 0; i < 50; i++) {
      if ((await fetch(`${gatewayUrl}/v2/health/ready`)).status === 200) break;
      await new Promise((r) => setTimeout(r, 100));
    }

    const nginxPort = await freePort();
    const nginx = spawn(
      ...pinned(proxyCpu, '/usr/sbin/nginx', [
        '-p',
        dir,
        '-c',
        nginxConfig(dir, nginxPort, upstream),
        '-e',
        path.join(dir, 'nginx-error.log'),
      ]),
      { stdio: 'ignore' },
    );
    children.push(nginx);
    const nginxUrl = `http://127.0.0.1:${nginxPort}`;
    await waitHttp(`${nginxUrl}/v1/stats`);

    // Node's floor: the least a proxy on node:http + undici does (bench/node-floor-proxy.mjs), pinned as the others.
    const floorChild = node(proxyCpu, [
      '--trace-gc',
      path.join(ROOT, 'bench', 'node-floor-proxy.mjs'),
      upstream,
    ]);
    const floorUrl = await firstLine(
      floorChild,
      'stdout',
      (l) => (l.startsWith('http://') ? l.trim() : null),
      'floor',
    );

    const tiny = path.join(dir, 'tiny.bin');
    writeFileSync(tiny, Buffer.from('{"inputs":[]}'));
    const large = path.join(dir, 'large.bin');
    writeFileSync(large, Buffer.alloc(200 * 1024, 0x5a));
    const path_ = '/v2/models/shapes/infer';
    const bodies = (
      [
        ['tiny', 'tiny (13 B)', tiny],
        ['large', '200 KiB', large],
      ] as const
    ).filter(([key]) => args.bodies.split(',').includes(key));
    const targets = {
      direct: { base: upstream, pids: () => [upstreamChild.pid!], fullGcs: null },
      nginx: { base: nginxUrl, pids: () => processTree(nginx.pid!), fullGcs: null },
      gateway: { base: gatewayUrl, pids: () => [gatewayChild.pid!], fullGcs: fullGcCounter(gatewayChild) },
      node: { base: floorUrl, pids: () => [floorChild.pid!], fullGcs: fullGcCounter(floorChild) },
    };
    type Target = keyof typeof targets;
    const measure = async (target: Target, script: string, secs: number, conns: number) => {
      const { base, pids, fullGcs } = targets[target];
      const proxyPids = pids();
      const g0 = fullGcs?.() ?? 0;
      const p0 = cpuSeconds(proxyPids);
      const u0 = cpuSeconds([upstreamChild.pid!]);
      const s0 = syscalls(proxyPids);
      const result = await wrk(base + path_, script, secs, conns, loadCpu);
      const perRequest = (s: number) => round((s / Math.max(1, result.requests)) * 1e6, 1);
      return {
        result,
        proxyCpuUs: perRequest(cpuSeconds(proxyPids) - p0),
        upstreamCpuUs: perRequest(cpuSeconds([upstreamChild.pid!]) - u0),
        proxySyscalls: round((syscalls(proxyPids) - s0) / Math.max(1, result.requests), 1),
        fullGcs: fullGcs ? fullGcs() - g0 : null,
      };
    };

    const rows: { body: string; target: Target; round: number; m: Measured; idle: WrkResult }[] = [];
    for (const [, body, file] of bodies) {
      const script = luaScript(dir, file);
      for (const target of Object.keys(targets) as Target[]) await measure(target, script, 1, connections); // warm-up (JIT, pools)
      const order: Target[] = ['direct'];
      for (let r = 0; r < rounds; r++)
        order.push(...((r % 2 ? ['gateway', 'node', 'nginx'] : ['nginx', 'node', 'gateway']) as Target[]));
      const seen: Record<string, number> = {};
      for (const target of order) {
        const m = await measure(target, script, seconds, connections);
        // One connection: latency with no queueing, what a proxy adds to a single request.
        const idle = (await measure(target, script, Math.min(seconds, 3), 1)).result;
        rows.push({ body, target, round: (seen[target] = (seen[target] ?? 0) + 1), m, idle });
      }
    }
    const table = rows.map(({ body, target, round: r, m, idle }) => ({
      body,
      target,
      round: r,
      rps: Math.round(m.result.rps),
      p50Ms: round(m.result.p50Ms),
      p99Ms: round(m.result.p99Ms),
      errors: m.result.errors,
      proxyCpuUsPerReq: target === 'direct' ? null : m.proxyCpuUs,
      upstreamCpuUsPerReq: m.upstreamCpuUs,
      // /proc/<pid>/io counts read/write-family calls only: nginx's recv/send do not show, so no nginx figure.
      nodeSyscallsPerReq: target === 'nginx' ? null : m.proxySyscalls,
      fullGcs: m.fullGcs,
      c1P50Ms: round(idle.p50Ms),
    }));
    const ratios = bodies.map(([, body]) => {
      const of = (target: Target) => rows.filter((r) => r.body === body && r.target === target);
      const g = of('gateway');
      const n = of('nginx');
      const f = of('node');
      const d = of('direct')[0]!;
      const pairs = g.map((gr, i) => gr.m.result.rps / n[i]!.m.result.rps);
      const floorPairs = f.map((fr, i) => fr.m.result.rps / n[i]!.m.result.rps);
      return {
        body,
        gatewayOverNginx: round(median(pairs)),
        pairs: pairs.map((x) => round(x, 2)).join(' '),
        nodeFloorOverNginx: round(median(floorPairs)),
        floorPairs: floorPairs.map((x) => round(x, 2)).join(' '),
        gatewayCpuUs: median(g.map((r) => r.m.proxyCpuUs)),
        nodeFloorCpuUs: median(f.map((r) => r.m.proxyCpuUs)),
        nginxCpuUs: median(n.map((r) => r.m.proxyCpuUs)),
        gatewayAddedP50Ms: round(median(g.map((r) => r.idle.p50Ms)) - d.idle.p50Ms),
        nodeFloorAddedP50Ms: round(median(f.map((r) => r.idle.p50Ms)) - d.idle.p50Ms),
        nginxAddedP50Ms: round(median(n.map((r) => r.idle.p50Ms)) - d.idle.p50Ms),
      };
    });
    const setup = `gateway: ${args.tsx ? 'sources via tsx' : 'tsc build'}; wrk -t1 -c${connections} -d${seconds}s (and -c1 for latency), ${rounds} nginx/gateway/Node-floor rounds per body, ${pin ? 'pinned: proxy on CPU 1, wrk + upstream on CPU 0' : 'not pinned'}`;
    if (args.json) process.stdout.write(JSON.stringify({ setup, table, ratios }, null, 2) + '\n');
    else {
      console.log(`${setup}; POST ${path_}; upstream: stand-in replica (instant JSON answer)`);
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
