import type { ChildProcess } from 'node:child_process';
import type { Client } from '@grpc/grpc-js';
import { startGatewayProcess, type GatewayProcess } from '../gateway/gateway-process.js';
import { grpcAddressOf } from '../grpc/replica-address.js';
import { drawImage } from '../helpers/images.js';
import { startReplica, type ReplicaProcess } from '../helpers/replica-process.js';
import { DETECT } from './http-bytes.js';
import { grpcClient, grpcVerdict, httpVerdict, sendGrpc, sendRaw, type HostileInput } from './probe.js';

/**
 * The processes under attack — a real replica (models/shapes, HTTP and gRPC) and a real gateway in front of
 * it — and the check after each input: the answer keeps the rules (probe.ts), the process is alive, and an
 * ordinary request still succeeds.
 */

export interface Target {
  name: 'replica' | 'gateway';
  url: string;
  port: number;
  grpc: Client;
  process: ChildProcess;
}

export interface Targets {
  targets: Target[];
  /** A small valid JPEG (the ordinary request, and what the generators mutate). */
  jpeg: Buffer;
  close(): Promise<void>;
}

/** Longest a hostile input may wait for its answer (the minimum upload rate's grace is 5 s). */
export const DEADLINE_MS = 10_000;

export async function startTargets(): Promise<Targets> {
  const jpeg = await drawImage({
    width: 160,
    height: 120,
    rects: [{ box: [20, 20, 100, 80], color: 'red' }],
  });
  let replica: ReplicaProcess | undefined;
  let gateway: GatewayProcess | undefined;
  try {
    replica = await startReplica({
      model: 'models/shapes',
      args: ['--grpc-port', '0', '--replica-id', 'hostile'],
    });
    gateway = await startGatewayProcess(['--replica', replica.url, '--grpc-port', '0']);
    const targets: Target[] = [
      {
        name: 'replica',
        url: replica.url,
        port: replica.port,
        grpc: grpcClient(grpcAddressOf(replica)),
        process: replica.process,
      },
      {
        name: 'gateway',
        url: gateway.url,
        port: Number(new URL(gateway.url).port),
        grpc: grpcClient(gateway.grpcAddress!),
        process: gateway.process,
      },
    ];
    // the gateway routes once it has polled the replica
    const deadline = Date.now() + 30_000;
    while ((await ordinary(targets[1]!, jpeg)) !== null) {
      if (Date.now() > deadline) throw new Error('the gateway never answered an ordinary request');
      await new Promise((r) => setTimeout(r, 200));
    }
    const [r, g] = [replica, gateway];
    return {
      targets,
      jpeg,
      close: async () => {
        for (const t of targets) t.grpc.close();
        await g.stop();
        await r.stop();
      },
    };
  } catch (err) {
    await gateway?.stop();
    await replica?.stop('SIGKILL', 1000);
    throw err;
  }
}

/** An ordinary detect: null when it succeeds, else why not. */
export async function ordinary(target: Target, jpeg: Buffer): Promise<string | null> {
  try {
    const res = await fetch(`${target.url}${DETECT}`, {
      method: 'POST',
      body: jpeg,
      headers: { 'content-type': 'image/jpeg' },
      signal: AbortSignal.timeout(DEADLINE_MS),
    });
    const body = await res.text();
    return res.status === 200 ? null : `an ordinary request got ${res.status}: ${body.slice(0, 200)}`;
  } catch (err) {
    return `an ordinary request failed: ${(err as Error).message}`;
  }
}

const alive = (p: ChildProcess) => p.exitCode === null && p.signalCode === null;

export interface Outcome {
  /** HTTP status, `grpc <code>`, or `closed`. */
  answer: string;
  ms: number;
  /** Why the rules were broken, or null. */
  failure: string | null;
}

/** Sends one input to one target and checks everything the suite promises. */
export async function attack(target: Target, input: HostileInput, jpeg: Buffer): Promise<Outcome> {
  let answer: string;
  let ms: number;
  let failure: string | null;
  if (input.kind === 'http') {
    const a = await sendRaw(target.port, input.bytes, {
      deadlineMs: DEADLINE_MS,
      halfClose: input.framing === 'fuzzed',
    });
    answer = a.status === null ? 'closed' : String(a.status);
    ms = a.ms;
    failure = httpVerdict(input, a);
  } else {
    const a = await sendGrpc(target.grpc, input.method, input.bytes, DEADLINE_MS);
    answer = `grpc ${a.code}`;
    ms = a.ms;
    failure = grpcVerdict(a, DEADLINE_MS);
  }
  if (!alive(target.process))
    failure = `the ${target.name} process exited (${target.process.exitCode ?? target.process.signalCode})`;
  failure ??= await ordinary(target, jpeg);
  return { answer, ms, failure: failure && `${target.name}: ${input.what}: ${failure}` };
}
