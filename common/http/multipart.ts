import busboy from 'busboy';
import { formatBytes } from '../bytes.js';
import { GpumuxError } from '../errors.js';

/**
 * The one multipart/form-data parser of the gateway and the replica: the `image` fields of a detect request,
 * parsed while the body streams in (busboy), with limits on parts, files, fields, part size and part headers —
 * a body of thousands of tiny parts is refused after `maxFrames` + a few parts instead of being parsed in full
 * on the event loop — and nothing but the images kept. Each image is kept as the slices busboy hands out of
 * the body's own chunks (no copy); the caller joins them once, if at all (imageBytes).
 */

export interface ImagePartLimits {
  /** Largest image part. */
  maxBytes: number;
  /** Most `image` fields (frames) a request may carry. */
  maxFrames: number;
}

/** One `image` field: its bytes as received, and the part's declared type (busboy: `text/plain` if none). */
export interface ImagePart {
  chunks: Buffer[];
  bytes: number;
  type: string;
}

/** Writes one chunk of the body into the parser; resolves when the parser can take the next (back-pressure). */
export type WriteChunk = (chunk: Uint8Array) => Promise<void>;

/** Parts besides the images a client may add (a text field or two) before the body is refused. */
const EXTRA_PARTS = 8;
/**
 * Largest text field. A text field's value is decoded into a string before we see it (a second and third copy
 * of its bytes), so text fields stay small whatever the image limit; images go in file parts.
 */
const MAX_FIELD_BYTES = 64 * 1024;
/** Header lines in one part (Content-Disposition, Content-Type and a few more). */
const MAX_PART_HEADERS = 16;

function malformed(err: Error): GpumuxError {
  return new GpumuxError('BAD_REQUEST', `malformed multipart body: ${err.message}`, { cause: err });
}

/**
 * The `image` fields of a multipart body of type `contentType`, in order. `feed` reads the body and hands
 * each chunk to `write` (awaiting it); when `feed` fails (too large, too slow, client gone) the parser is
 * destroyed and `feed`'s error is the answer. 400 BAD_REQUEST for a malformed body, 413 PAYLOAD_TOO_LARGE
 * over a limit, 400 EMPTY_BODY when no `image` field came.
 *
 * @example
 * const parts = await readImageParts(type, { maxBytes, maxFrames }, (write) => streamBody(request, limits, write));
 */
export async function readImageParts(
  contentType: string,
  { maxBytes, maxFrames }: ImagePartLimits,
  feed: (write: WriteChunk) => Promise<unknown>,
): Promise<ImagePart[]> {
  const parser = openParser(contentType, maxBytes, maxFrames);
  const found: Found = { parts: [], failure: null };
  collectImages(parser, found, maxBytes, maxFrames);
  const finished = new Promise<void>((resolve, reject) => {
    parser.on('close', resolve);
    parser.on('error', (err: Error) => reject(fail(found, malformed(err))));
  });
  finished.catch(() => undefined); // awaited below; a parse error during streaming surfaces there

  try {
    await feed(async (chunk) => {
      throwFailure(found);
      // a parser that fails while we wait for 'drain' never drains: wait for whichever comes first
      if (!parser.write(chunk))
        await Promise.race([new Promise<void>((resolve) => parser.once('drain', resolve)), finished]);
      throwFailure(found);
    });
  } catch (err) {
    parser.destroy(); // its part streams' errors land on the listeners of collectImages
    throw err;
  }
  parser.end();
  await finished;
  throwFailure(found);
  if (found.parts.length === 0)
    throw new GpumuxError('EMPTY_BODY', 'the multipart body has no "image" field');
  return found.parts;
}

/** What the parser's callbacks found so far: the image parts in order, and the first failure. */
interface Found {
  parts: ImagePart[];
  failure: GpumuxError | null;
}

const fail = (found: Found, err: GpumuxError): GpumuxError => (found.failure ??= err);

// read through a function: TypeScript does not see the parser's callbacks set `failure` between checks
function throwFailure(found: Found): void {
  if (found.failure) throw found.failure;
}

/** A busboy parser for `contentType` within the limits (400 for a type it cannot parse). */
function openParser(contentType: string, maxBytes: number, maxFrames: number): busboy.Busboy {
  try {
    return busboy({
      headers: { 'content-type': contentType },
      // A text field's value is decoded by its charset: latin1 maps every byte to one character and back, so
      // an image sent as a text field (curl -F "image=<photo.jpg") keeps its bytes.
      defCharset: 'latin1',
      limits: {
        parts: maxFrames + EXTRA_PARTS,
        files: maxFrames,
        // images may come as text fields too: they count against maxFrames (collectImages), not this
        fields: maxFrames + EXTRA_PARTS,
        fileSize: maxBytes,
        fieldSize: MAX_FIELD_BYTES,
        headerPairs: MAX_PART_HEADERS,
      },
    });
  } catch (err) {
    throw malformed(err as Error);
  }
}

/** Collects the `image` parts (files or fields) into `found`; a limit passed or a broken part fails it. */
function collectImages(parser: busboy.Busboy, found: Found, maxBytes: number, maxFrames: number): void {
  const tooMany = (what: string) =>
    fail(
      found,
      new GpumuxError('PAYLOAD_TOO_LARGE', `too many ${what} in one request; at most ${maxFrames} images`),
    );
  /** Keeps one more image, files and text fields counted together; false (and failed) past maxFrames. */
  const addImage = (part: ImagePart): boolean => {
    if (found.parts.length >= maxFrames) {
      tooMany('images');
      return false;
    }
    found.parts.push(part);
    return true;
  };
  parser.on('partsLimit', () => tooMany('parts'));
  parser.on('filesLimit', () => tooMany('files'));
  parser.on('fieldsLimit', () => tooMany('fields'));
  parser.on('file', (name, stream, info) => {
    // A body that ends inside a part ("Unexpected end of form") errors the part's stream as well as the
    // parser: without this listener that 'error' would reach the process and end it.
    stream.on('error', (err: Error) => fail(found, malformed(err)));
    stream.on('limit', () =>
      fail(
        found,
        new GpumuxError('PAYLOAD_TOO_LARGE', `an image part is larger than ${formatBytes(maxBytes)}`),
      ),
    );
    if (name !== 'image') return void stream.resume();
    const part: ImagePart = { chunks: [], bytes: 0, type: info.mimeType };
    if (!addImage(part)) return void stream.resume();
    stream.on('data', (chunk: Buffer) => {
      part.chunks.push(chunk);
      part.bytes += chunk.length;
    });
  });
  parser.on('field', (name, value, info) => {
    if (info.valueTruncated) {
      const hint = name === 'image' ? ': send images as file parts (curl -F image=@photo.jpg)' : '';
      fail(
        found,
        new GpumuxError(
          'PAYLOAD_TOO_LARGE',
          `text field "${name}" is larger than ${formatBytes(MAX_FIELD_BYTES)}${hint}`,
        ),
      );
    } else if (name === 'image') {
      // latin1 both ways (openParser's defCharset); a part that names another charset is decoded by it
      const bytes = Buffer.from(value, 'latin1');
      addImage({ chunks: [bytes], bytes: bytes.length, type: info.mimeType });
    }
  });
}

/** A part's bytes in one Uint8Array of its own (a copy only when the part arrived in several slices). */
export function imageBytes(part: ImagePart): Buffer {
  return part.chunks.length === 1 ? part.chunks[0]! : Buffer.concat(part.chunks, part.bytes);
}
