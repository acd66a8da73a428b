import busboy from 'busboy';
import { GpumuxError } from '../../common/errors.js';
import { formatBytes } from '../../common/bytes.js';
import { streamBody, type ReadBodyOptions } from './read-body.js';

/**
 * The `image` fields of a multipart/form-data body, parsed as it streams in (busboy) with limits on parts,
 * files and part size: a body of thousands of tiny parts is refused after `maxFrames` + a few parts instead
 * of being parsed in full on the event loop, and nothing but the images is kept.
 */
export interface MultipartOptions extends ReadBodyOptions {
  /** Most `image` fields (frames) a request may carry. */
  maxFrames: number;
}

/** Parts besides the images a client may add (a text field or two) before the body is refused. */
const EXTRA_PARTS = 8;
const MAX_FIELD_BYTES = 64 * 1024;

function malformed(err: Error): GpumuxError {
  return new GpumuxError('BAD_REQUEST', `malformed multipart body: ${err.message}`, { cause: err });
}

export async function readImageParts(request: Request, options: MultipartOptions): Promise<Uint8Array[]> {
  const { maxBytes, maxFrames, ...rate } = options;
  const parts: { name: string; chunks: Buffer[] }[] = [];
  let failure: GpumuxError | null = null;
  const fail = (err: GpumuxError) => (failure ??= err);
  // read through a function: TypeScript does not see the parser's callbacks set `failure` between checks
  const throwFailure = (): void => {
    if (failure) throw failure;
  };
  let parser: busboy.Busboy;
  try {
    parser = busboy({
      headers: { 'content-type': request.headers.get('content-type') ?? '' },
      limits: {
        parts: maxFrames + EXTRA_PARTS,
        files: maxFrames,
        fields: EXTRA_PARTS,
        fileSize: maxBytes,
        fieldSize: MAX_FIELD_BYTES,
        headerPairs: 16,
      },
    });
  } catch (err) {
    throw malformed(err as Error);
  }
  const tooMany = (what: string) =>
    fail(
      new GpumuxError('PAYLOAD_TOO_LARGE', `too many ${what} in one request; at most ${maxFrames} images`),
    );
  parser.on('partsLimit', () => tooMany('parts'));
  parser.on('filesLimit', () => tooMany('files'));
  parser.on('fieldsLimit', () => tooMany('fields'));
  parser.on('file', (name, stream) => {
    const part = { name, chunks: [] as Buffer[] };
    // A body that ends inside a part ("Unexpected end of form") errors the part's stream as well as the
    // parser: without this listener that 'error' would reach the process and end it.
    stream.on('error', (err: Error) => fail(malformed(err)));
    if (name === 'image') parts.push(part);
    stream.on('data', (chunk: Buffer) => {
      if (name === 'image') part.chunks.push(chunk);
    });
    stream.on('limit', () =>
      fail(new GpumuxError('PAYLOAD_TOO_LARGE', `an image part is larger than ${formatBytes(maxBytes)}`)),
    );
  });
  parser.on('field', (name, value, info) => {
    if (info.valueTruncated)
      fail(new GpumuxError('PAYLOAD_TOO_LARGE', `field "${name}" is larger than ${MAX_FIELD_BYTES} bytes`));
    else if (name === 'image') parts.push({ name, chunks: [Buffer.from(value)] });
  });
  const finished = new Promise<void>((resolve, reject) => {
    parser.on('close', resolve);
    parser.on('error', (err: Error) => reject(fail(malformed(err))));
  });
  finished.catch(() => undefined); // awaited below; a parse error during streaming surfaces there

  try {
    await streamBody(request, { maxBytes, ...rate }, async (chunk) => {
      throwFailure();
      // a parser that fails while we wait for 'drain' never drains: wait for whichever comes first
      if (!parser.write(chunk))
        await Promise.race([new Promise<void>((resolve) => parser.once('drain', resolve)), finished]);
      throwFailure();
    });
  } catch (err) {
    parser.destroy(); // its part streams' errors land on the listeners above
    throw err;
  }
  parser.end();
  await finished;
  throwFailure();
  if (parts.length === 0) throw new GpumuxError('EMPTY_BODY', 'the multipart body has no "image" field');
  return parts.map((p) => new Uint8Array(Buffer.concat(p.chunks)));
}
