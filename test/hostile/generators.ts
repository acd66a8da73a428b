import fc from 'fast-check';
import { inferenceServiceDefinition } from '../../common/grpc/load.js';
import type { HostileInput } from './probe.js';
import {
  binaryInfer,
  DETECT,
  INFER,
  MODEL,
  imagePart,
  multipartBody,
  request,
  type Header,
} from './http-bytes.js';

/**
 * fast-check generators of hostile inputs, one per surface: content types and image bytes, multipart,
 * v2 JSON tensors, the binary tensor extension, HTTP/1.1 framing and gRPC messages. `jpeg` is a small valid
 * image the generators cut, flip and disguise (mutations of a valid file reach deeper into a decoder than
 * random bytes do).
 */

const bytes = (max: number) => fc.uint8Array({ maxLength: max }).map((a) => Buffer.from(a));

/** A valid image, cut short, with bytes flipped, or random bytes. */
function imageBytes(jpeg: Buffer): fc.Arbitrary<Buffer> {
  return fc.oneof(
    fc.constant(jpeg),
    fc.nat({ max: jpeg.byteLength }).map((n) => jpeg.subarray(0, n)),
    fc
      .array(fc.tuple(fc.nat({ max: jpeg.byteLength - 1 }), fc.integer({ min: 0, max: 255 })), {
        minLength: 1,
        maxLength: 8,
      })
      .map((flips) => {
        const copy = Buffer.from(jpeg);
        for (const [at, value] of flips) copy[at] = value;
        return copy;
      }),
    bytes(2048),
  );
}

const token = fc.string({ unit: fc.constantFrom(...'abcXYZ09-_./;=" \t%\\'.split('')), maxLength: 40 });
/** Header values as hostile clients write them (control characters included: the parser must cope). */
const headerValue = fc.oneof(
  token,
  fc.string({ unit: fc.integer({ min: 0, max: 255 }).map((c) => String.fromCharCode(c)), maxLength: 60 }),
);

function contentTypes(jpeg: Buffer): fc.Arbitrary<HostileInput> {
  const type = fc.oneof(
    fc.constantFrom(
      'image/jpeg',
      'image/png',
      'image/webp',
      'image/gif',
      'application/json',
      'text/plain',
      '',
    ),
    fc
      .tuple(fc.constantFrom('image/jpeg', 'multipart/form-data', 'IMAGE/PNG'), token)
      .map(([t, p]) => `${t}; ${p}`),
    token,
  );
  const query = fc.oneof(
    fc.constant(''),
    token.map((t) => `?threshold=${encodeURIComponent(t)}`),
  );
  return fc.tuple(type, imageBytes(jpeg), query).map(([t, body, q]) => ({
    kind: 'http' as const,
    what: `detect as "${t}" (${body.byteLength} bytes)${q}`,
    bytes: request('POST', `${DETECT}${q}`, t ? [['content-type', t]] : [], body),
  }));
}

function multipart(jpeg: Buffer): fc.Arbitrary<HostileInput> {
  const part = fc.oneof(
    imageBytes(jpeg).map((content) => imagePart(content)),
    fc.record({
      headers: fc.oneof(
        token.map((n) => `Content-Disposition: form-data; name="${n}"`),
        token.map((n) => `Content-Disposition: form-data; name="image"; filename="${n}"`),
        headerValue,
      ),
      content: fc.oneof(imageBytes(jpeg), bytes(256)),
    }),
  );
  const boundary = fc.oneof(
    fc.constant('XX'),
    fc.string({ unit: fc.constantFrom(...'ab-_=+'.split('')), maxLength: 90 }),
  );
  return fc
    .tuple(
      boundary,
      fc.array(part, { maxLength: 6 }),
      fc.constantFrom('closed', 'open', 'epilogue' as const),
      fc.option(fc.nat(), { nil: undefined }),
      fc.boolean(),
    )
    .map(([b, parts, end, cutAt, boundaryMatches]) => {
      let body = multipartBody(b, parts, end);
      if (cutAt !== undefined) body = body.subarray(0, cutAt % (body.byteLength + 1));
      const declared = boundaryMatches ? b : `${b}x`;
      return {
        kind: 'http' as const,
        what: `multipart: ${parts.length} part(s), end ${end}, ${body.byteLength} bytes`,
        bytes: request('POST', DETECT, [['content-type', `multipart/form-data; boundary=${declared}`]], body),
      };
    });
}

const jsonValue = fc.jsonValue({ maxDepth: 3 });

function v2Json(): fc.Arbitrary<HostileInput> {
  const shape = fc.oneof(
    fc.constant([1, 480, 640, 3]),
    fc.array(fc.oneof(fc.integer({ min: -2, max: 1000 }), fc.double(), fc.constant(2 ** 53)), {
      maxLength: 5,
    }),
    jsonValue,
  );
  const tensor = fc.record(
    {
      name: fc.oneof(fc.constant('images'), token, jsonValue),
      datatype: fc.oneof(
        fc.constantFrom('UINT8', 'FP32', 'BYTES', 'BF16', 'INT64', 'BOOL'),
        token,
        jsonValue,
      ),
      shape,
      data: fc.oneof(fc.array(fc.integer({ min: -300, max: 300 }), { maxLength: 20 }), jsonValue),
      parameters: fc.oneof(fc.constant(undefined), fc.dictionary(token, jsonValue, { maxKeys: 3 })),
    },
    { requiredKeys: [] },
  );
  const body = fc.oneof(
    fc
      .record(
        {
          id: jsonValue,
          inputs: fc.oneof(fc.array(tensor, { maxLength: 3 }), jsonValue),
          outputs: fc.oneof(
            fc.array(fc.record({ name: fc.oneof(token, jsonValue) }), { maxLength: 3 }),
            jsonValue,
          ),
          parameters: jsonValue,
        },
        { requiredKeys: [] },
      )
      .map((o) => JSON.stringify(o)),
    jsonValue.map((v) => JSON.stringify(v)),
    fc.string({ maxLength: 200 }),
  );
  const path = fc.constantFrom(
    INFER,
    `/v2/models/${MODEL}/versions/1/infer`,
    `/v2/models/${MODEL}/versions/x/infer`,
  );
  return fc.tuple(path, body).map(([p, b]) => ({
    kind: 'http' as const,
    what: `v2 JSON to ${p}: ${b.slice(0, 80)}`,
    bytes: request('POST', p, [['content-type', 'application/json']], b),
  }));
}

function v2Binary(): fc.Arbitrary<HostileInput> {
  const header = fc.record({
    inputs: fc.array(
      fc.record({
        name: fc.constantFrom('images', 'x'),
        datatype: fc.constantFrom('UINT8', 'FP32', 'BYTES'),
        shape: fc.constantFrom([1, 480, 640, 3], [1, 1, 1, 3], [2, 480, 640, 3], [0]),
        parameters: fc.record({
          binary_data_size: fc.oneof(fc.integer({ min: -10, max: 2_000_000 }), jsonValue),
        }),
      }),
      { maxLength: 2 },
    ),
  });
  const length = fc.oneof(fc.constant(undefined), fc.integer({ min: -5, max: 5000 }).map(String), token);
  return fc.tuple(header, length, fc.nat({ max: 1_000_000 })).map(([h, len, tensorBytes]) => ({
    kind: 'http' as const,
    what: `v2 binary: header length ${len ?? '(exact)'}, ${tensorBytes} tensor bytes, ${JSON.stringify(h).slice(0, 120)}`,
    bytes: binaryInfer(h, Buffer.alloc(tensorBytes, 3), len),
  }));
}

/** Framing the parser must refuse or survive: odd request lines, headers, lengths; the client half-closes. */
function framing(jpeg: Buffer): fc.Arbitrary<HostileInput> {
  const method = fc.oneof(
    fc.constantFrom('GET', 'POST', 'PUT', 'HEAD', 'PATCH', 'TRACE', 'get', 'P0ST'),
    token,
  );
  const target = fc.oneof(
    fc.constantFrom(DETECT, INFER, '/v2', '/v1/stats', '*', '//', '/v2/models/shapes/ready'),
    token,
  );
  const version = fc.constantFrom('HTTP/1.1', 'HTTP/1.0', 'HTTP/1.1 ', 'HTTP/9.9', 'http/1.1', '');
  const header: fc.Arbitrary<Header> = fc.oneof(
    fc.tuple(
      fc.constantFrom(
        'content-length',
        'transfer-encoding',
        'content-type',
        'expect',
        'inference-header-content-length',
        'connection',
      ),
      headerValue,
    ),
    fc.tuple(token, headerValue),
  );
  const eol = fc.constantFrom('\r\n', '\n', '\r');
  return fc
    .tuple(method, target, version, fc.array(header, { maxLength: 6 }), eol, imageBytes(jpeg))
    .map(([m, t, v, headers, nl, body]) => {
      const head = `${m} ${t} ${v}${nl}host: x${nl}${headers.map(([n, val]) => `${n}: ${val}${nl}`).join('')}${nl}`;
      return {
        kind: 'http' as const,
        what: `framing: ${JSON.stringify(head).slice(0, 160)} + ${body.byteLength} bytes`,
        bytes: Buffer.concat([Buffer.from(head, 'latin1'), body]),
        framing: 'fuzzed' as const,
      };
    });
}

/** ModelInfer messages: well-formed protobuf with hostile content, and random bytes. */
function grpcMessages(): fc.Arbitrary<HostileInput> {
  const serialize = inferenceServiceDefinition().ModelInfer!.requestSerialize as (o: object) => Buffer;
  const tensor = fc.record({
    name: fc.oneof(fc.constant('images'), token),
    datatype: fc.constantFrom('UINT8', 'FP32', 'BYTES', 'BF16', ''),
    shape: fc.array(fc.integer({ min: -3, max: 100_000 }), { maxLength: 5 }),
  });
  const message = fc
    .record({
      model_name: fc.oneof(fc.constant(MODEL), token),
      model_version: fc.oneof(fc.constant(''), token),
      inputs: fc.array(tensor, { maxLength: 3 }),
      raw_input_contents: fc.array(bytes(4096), { maxLength: 3 }),
    })
    .map((m) => ({
      what: `ModelInfer ${JSON.stringify({ ...m, raw_input_contents: m.raw_input_contents.map((b) => b.byteLength) }).slice(0, 160)}`,
      bytes: serialize(m),
    }));
  const random = bytes(512).map((b) => ({ what: `ModelInfer: ${b.byteLength} random bytes`, bytes: b }));
  return fc.oneof(message, random).map(({ what, bytes: b }) => ({
    kind: 'grpc' as const,
    what,
    method: '/inference.GRPCInferenceService/ModelInfer',
    bytes: b,
  }));
}

/** Every generator by name (the suite runs each as its own property). */
export function generators(jpeg: Buffer): Record<string, fc.Arbitrary<HostileInput>> {
  return {
    'content types and image bytes': contentTypes(jpeg),
    multipart: multipart(jpeg),
    'v2 JSON tensors': v2Json(),
    'v2 binary extension': v2Binary(),
    'HTTP/1.1 framing': framing(jpeg),
    'gRPC messages': grpcMessages(),
  };
}
