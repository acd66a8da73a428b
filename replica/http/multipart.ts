import { imageBytes, readImageParts as parseImageParts } from '../../common/http/multipart.js';
import { streamBody, type ReadBodyOptions } from './read-body.js';

/** A request's multipart limits: the body's (read-body.ts) and the most `image` fields it may carry. */
export interface MultipartOptions extends ReadBodyOptions {
  /** Most `image` fields (frames) a request may carry. */
  maxFrames: number;
}

/**
 * The `image` fields of a multipart/form-data request, parsed as the body streams in under the replica's
 * body limits (common/http/multipart.ts has the parser and its limits), each frame in memory of its own.
 */
export async function readImageParts(request: Request, options: MultipartOptions): Promise<Uint8Array[]> {
  const { maxBytes, maxFrames } = options;
  const contentType = request.headers.get('content-type') ?? '';
  const parts = await parseImageParts(contentType, { maxBytes, maxFrames }, (write) =>
    streamBody(request, options, write),
  );
  return parts.map((p) => new Uint8Array(imageBytes(p)));
}
