import net from 'node:net';
import { Client, credentials, Metadata, type ServiceError } from '@grpc/grpc-js';
import { ERROR_STATUS, GRPC_STATUS } from '../../common/errors.js';

/**
 * Sending one hostile input and judging the answer. HTTP goes over a raw socket (clients refuse to send
 * malformed framing); gRPC through a real grpc-js client with raw bytes as the message.
 */

/** One hostile input: raw HTTP/1.1 bytes, or a gRPC method and its raw message bytes. */
export type HostileInput =
  | {
      kind: 'http';
      what: string;
      bytes: Buffer;
      /**
       * The framing may be incomplete or broken: the client half-closes after writing, and the server may
       * close without answering (it owes an answer only to a whole request).
       */
      framing?: 'fuzzed';
    }
  | { kind: 'grpc'; what: string; method: string; bytes: Buffer };

export interface HttpAnswer {
  status: number | null;
  body: string;
  ms: number;
  timedOut: boolean;
}

/** Writes `bytes` on a fresh connection; resolves with the first response (or none, if the server closed). */
export function sendRaw(
  port: number,
  bytes: Buffer,
  { deadlineMs, halfClose }: { deadlineMs: number; halfClose: boolean },
): Promise<HttpAnswer> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    let data = Buffer.alloc(0);
    let settled = false;
    const finish = (timedOut: boolean): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      const text = finalAnswer(data);
      const status = /^HTTP\/1\.[01] (\d{3})/.exec(text);
      const split = text.indexOf('\r\n\r\n');
      const head = split >= 0 ? text.slice(0, split).toLowerCase() : '';
      const raw = split >= 0 ? text.slice(split + 4) : '';
      resolve({
        status: status ? Number(status[1]) : null,
        body: /\r\ntransfer-encoding: *chunked/.test(head) ? dechunk(raw) : raw,
        ms: performance.now() - t0,
        timedOut,
      });
    };
    const timer = setTimeout(() => finish(true), deadlineMs);
    socket.on('error', () => finish(false));
    socket.on('close', () => finish(false));
    socket.on('data', (chunk: Buffer) => {
      data = Buffer.concat([data, chunk]);
      if (responseComplete(data)) finish(false);
    });
    socket.write(bytes, () => {
      if (halfClose) socket.end();
    });
  });
}

/** The bytes of the final answer: interim ones (100 Continue) are not the answer. */
function finalAnswer(data: Buffer): string {
  return data.toString('latin1').replace(/^(HTTP\/1\.[01] 1\d\d[^\r]*\r\n(?:[^\r]+\r\n)*\r\n)+/, '');
}

/** A chunked body's content (enough for the short error bodies the suite reads). */
function dechunk(raw: string): string {
  let out = '';
  let at = 0;
  for (;;) {
    const eol = raw.indexOf('\r\n', at);
    const size = eol < 0 ? NaN : parseInt(raw.slice(at, eol), 16);
    if (!Number.isFinite(size) || size === 0) return out;
    out += raw.slice(eol + 2, eol + 2 + size);
    at = eol + 2 + size + 2;
  }
}

/** A whole response: headers and a Content-Length body, or a whole chunked body. */
function responseComplete(data: Buffer): boolean {
  const text = finalAnswer(data);
  const split = text.indexOf('\r\n\r\n');
  if (split < 0) return false;
  const head = text.slice(0, split).toLowerCase();
  const length = /\r\ncontent-length: *(\d+)/.exec(head);
  if (length) return Buffer.byteLength(text, 'latin1') - split - 4 >= Number(length[1]);
  if (/\r\ntransfer-encoding: *chunked/.test(head)) return text.endsWith('\r\n0\r\n\r\n');
  return false; // until the server closes
}

/** The table's code in a /v1 (`{ error: { code } }`) or /v2 (`{ error, code }`) error body, if any. */
function codeOf(body: string): string | undefined {
  try {
    const json = JSON.parse(body) as { code?: unknown; error?: { code?: unknown } };
    const code = json.error?.code ?? json.code;
    return typeof code === 'string' ? code : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Why an HTTP answer breaks the rules, or null when it keeps them: an answer within the deadline; never 5xx;
 * a 4xx carries a code from the error table with that code's status — except the bodiless answers of Node's
 * HTTP parser and the Hono adapter to framing they cannot parse, before any route ran; no answer at all only for fuzzed
 * framing the client cut short.
 */
export function httpVerdict(input: Extract<HostileInput, { kind: 'http' }>, a: HttpAnswer): string | null {
  if (a.timedOut) return `no answer within ${a.ms.toFixed(0)} ms`;
  if (a.status === null) return input.framing === 'fuzzed' ? null : 'closed without an answer';
  if (a.status >= 500) return `answered ${a.status} to a client's fault: ${a.body.slice(0, 300)}`;
  if (a.status < 400) return null; // the input happened to be acceptable
  const code = codeOf(a.body);
  if (code === undefined) {
    // Node's HTTP parser (400, 408, 413, 414, 431, 417 for an Expect it does not know) and the Hono adapter
    // (400 for a target it cannot make a URL of, such as `OPTIONS *`) answer before any route runs, bodiless
    const nodeParser = a.body === '' && [400, 408, 413, 414, 417, 431].includes(a.status);
    return nodeParser ? null : `answered ${a.status} without a code from the table: ${a.body.slice(0, 300)}`;
  }
  const status = (ERROR_STATUS as Record<string, number>)[code];
  if (status === undefined) return `code ${code} is not in the error table`;
  if (status !== a.status) return `code ${code} is ${status} in the table, answered ${a.status}`;
  return null;
}

export interface GrpcAnswer {
  code: number;
  details: string;
  ms: number;
}

const identity = (b: Buffer): Buffer => b;

/** Sends raw message bytes to `method` (e.g. `/inference.GRPCInferenceService/ModelInfer`). */
export function sendGrpc(
  client: Client,
  method: string,
  bytes: Buffer,
  deadlineMs: number,
): Promise<GrpcAnswer> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    client.makeUnaryRequest(
      method,
      identity,
      identity,
      bytes,
      new Metadata(),
      { deadline: Date.now() + deadlineMs },
      (err: ServiceError | null) =>
        resolve({ code: err?.code ?? 0, details: err?.details ?? '', ms: performance.now() - t0 }),
    );
  });
}

export function grpcClient(address: string): Client {
  return new Client(address, credentials.createInsecure());
}

/** The gRPC statuses the error table gives a client's faults (and OK, for an input that happened to be fine). */
const CLIENT_FAULT_GRPC = new Set<number>([
  0,
  ...Object.entries(GRPC_STATUS)
    .filter(([code]) => {
      const status = (ERROR_STATUS as Record<string, number>)[code] ?? 500;
      return status >= 400 && status < 500 && status !== 499;
    })
    .map(([, grpc]) => grpc),
  12, // UNIMPLEMENTED: a method the service does not have (grpc-js answers it)
]);

export function grpcVerdict(a: GrpcAnswer, deadlineMs: number): string | null {
  if (a.code === 4 && a.ms >= deadlineMs - 50) return `no answer within ${deadlineMs} ms`;
  if (!CLIENT_FAULT_GRPC.has(a.code)) return `gRPC status ${a.code} (${a.details}) for a client's fault`;
  return null;
}
