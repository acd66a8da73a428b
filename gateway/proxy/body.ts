import type { IncomingMessage } from 'node:http';
import { GpumuxError } from '../../common/errors.js';

/** A request body held as the chunks Node delivered (never concatenated): sent, and re-sent on a retry. */
export interface HeldBody {
  chunks: Buffer[];
  length: number;
}

export const EMPTY_BODY: HeldBody = { chunks: [], length: 0 };

/**
 * Reads the request body up to `limit` bytes (413 PAYLOAD_TOO_LARGE beyond, checked against Content-Length
 * first so an oversized upload is refused before it is read).
 */
export function readBody(req: IncomingMessage, limit: number): Promise<HeldBody> {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > limit) {
    return Promise.reject(new GpumuxError('PAYLOAD_TOO_LARGE', `request body over ${limit} bytes`));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let length = 0;
    const onData = (chunk: Buffer): void => {
      length += chunk.length;
      if (length > limit) {
        cleanup();
        req.resume();
        reject(new GpumuxError('PAYLOAD_TOO_LARGE', `request body over ${limit} bytes`));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => {
      cleanup();
      resolve({ chunks, length });
    };
    const onError = (err: Error): void => {
      cleanup();
      reject(new GpumuxError('CLIENT_CLOSED', 'client closed the request', { cause: err }));
    };
    const onAborted = (): void => onError(new Error('aborted'));
    const cleanup = (): void => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('aborted', onAborted);
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('aborted', onAborted);
  });
}

/**
 * The body in the form undici sends fastest: one Buffer, written in one go. Several chunks are joined once
 * (and the join is kept, so a retry re-sends the same Buffer without copying again).
 */
export function bodyForUpstream(body: HeldBody): Buffer | null {
  if (body.chunks.length === 0) return null;
  if (body.chunks.length > 1) body.chunks = [Buffer.concat(body.chunks, body.length)];
  return body.chunks[0]!;
}
