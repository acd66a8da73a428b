import type { HostileInput } from './probe.js';
import { binaryInfer, DETECT, INFER, imagePart, MODEL, multipartBody, request } from './http-bytes.js';

/**
 * Hand-picked hostile inputs: what has broken servers before (issue #19's multipart, request smuggling
 * framing, parser edge cases, decoders fed the wrong format) — each sent to a replica and to the gateway.
 * `jpeg` is a small valid image to cut and disguise.
 */
export function corpus(jpeg: Buffer): HostileInput[] {
  const http = (what: string, bytes: Buffer): HostileInput => ({ kind: 'http', what, bytes });
  const fuzzed = (what: string, raw: string | Buffer): HostileInput => ({
    kind: 'http',
    what,
    bytes: typeof raw === 'string' ? Buffer.from(raw, 'latin1') : raw,
    framing: 'fuzzed',
  });
  const mp = (boundary = 'XX') => [['content-type', `multipart/form-data; boundary=${boundary}`]] as const;
  const jsonInfer = (body: string) =>
    http(
      `v2 JSON ${body.slice(0, 60)}`,
      request('POST', INFER, [['content-type', 'application/json']], body),
    );
  const svgBomb = Buffer.from(
    '<svg xmlns="http://www.w3.org/2000/svg" width="200000" height="200000"><rect width="100%" height="100%"/></svg>',
  );
  const tensor = Buffer.alloc(480 * 640 * 3, 7);
  const infer = {
    inputs: [
      {
        name: 'images',
        datatype: 'UINT8',
        shape: [1, 480, 640, 3],
        parameters: { binary_data_size: tensor.byteLength },
      },
    ],
  };

  return [
    // multipart (issue #19 and relatives)
    http(
      'multipart: the closing boundary never comes (issue #19)',
      request(
        'POST',
        DETECT,
        mp(),
        '--XX\r\nContent-Disposition: form-data; name="image"; filename="a.jpg"\r\nContent-Type: image/jpeg\r\n\r\nabcdef',
      ),
    ),
    http(
      'multipart: ends inside part headers',
      request('POST', DETECT, mp(), '--XX\r\nContent-Disposition: form-da'),
    ),
    http(
      'multipart: a good image then a part cut off',
      request(
        'POST',
        DETECT,
        mp(),
        multipartBody('XX', [imagePart(jpeg), imagePart(Buffer.from('abc'), 'b.jpg')], 'open'),
      ),
    ),
    http(
      'multipart: no boundary parameter',
      request(
        'POST',
        DETECT,
        [['content-type', 'multipart/form-data']],
        multipartBody('XX', [imagePart(jpeg)]),
      ),
    ),
    http('multipart: empty boundary', request('POST', DETECT, mp(''), multipartBody('', [imagePart(jpeg)]))),
    http(
      'multipart: unterminated quoted boundary',
      request(
        'POST',
        DETECT,
        [['content-type', 'multipart/form-data; boundary="XX']],
        multipartBody('XX', [imagePart(jpeg)]),
      ),
    ),
    http(
      'multipart: 200-byte boundary',
      request('POST', DETECT, mp('b'.repeat(200)), multipartBody('b'.repeat(200), [imagePart(jpeg)])),
    ),
    http(
      'multipart: junk after the end',
      request('POST', DETECT, mp(), multipartBody('XX', [imagePart(jpeg)], 'epilogue')),
    ),
    http(
      'multipart: 500 tiny parts',
      request(
        'POST',
        DETECT,
        mp(),
        multipartBody(
          'XX',
          Array.from({ length: 500 }, () => imagePart(Buffer.from('x'))),
        ),
      ),
    ),
    http(
      'multipart: part without Content-Disposition',
      request(
        'POST',
        DETECT,
        mp(),
        multipartBody('XX', [{ headers: 'Content-Type: image/jpeg', content: jpeg }]),
      ),
    ),
    http(
      'multipart: a 20 KB part header',
      request(
        'POST',
        DETECT,
        mp(),
        multipartBody('XX', [
          {
            headers: `Content-Disposition: form-data; name="image"; filename="${'f'.repeat(20_000)}"`,
            content: jpeg,
          },
        ]),
      ),
    ),
    http(
      'multipart: nested multipart part',
      request(
        'POST',
        DETECT,
        mp(),
        multipartBody('XX', [
          {
            headers:
              'Content-Disposition: form-data; name="image"\r\nContent-Type: multipart/mixed; boundary=YY',
            content: multipartBody('YY', [imagePart(jpeg)], 'open'),
          },
        ]),
      ),
    ),
    http(
      'multipart: only a text field named image',
      request(
        'POST',
        DETECT,
        mp(),
        multipartBody('XX', [
          { headers: 'Content-Disposition: form-data; name="image"', content: Buffer.from('not an image') },
        ]),
      ),
    ),
    http('multipart: empty body', request('POST', DETECT, mp(), '')),
    // content types and image bytes
    http('detect: no content type', request('POST', DETECT, [], jpeg)),
    http('detect: text/plain', request('POST', DETECT, [['content-type', 'text/plain']], 'hello')),
    http('detect: image/gif', request('POST', DETECT, [['content-type', 'image/gif']], 'GIF89a')),
    http(
      'detect: 8 KB content type',
      request('POST', DETECT, [['content-type', `image/jpeg; ${'x=y; '.repeat(1600)}`]], jpeg),
    ),
    http(
      'detect: JPEG cut in half',
      request('POST', DETECT, [['content-type', 'image/jpeg']], jpeg.subarray(0, jpeg.byteLength >> 1)),
    ),
    http(
      'detect: JPEG header only',
      request('POST', DETECT, [['content-type', 'image/jpeg']], jpeg.subarray(0, 4)),
    ),
    http(
      'detect: SVG claiming 200000×200000 as image/png',
      request('POST', DETECT, [['content-type', 'image/png']], svgBomb),
    ),
    http(
      'detect: SVG as image/webp',
      request(
        'POST',
        DETECT,
        [['content-type', 'image/webp']],
        Buffer.from(
          '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><image href="file:///etc/passwd"/></svg>',
        ),
      ),
    ),
    http(
      'detect: PNG signature then junk',
      request(
        'POST',
        DETECT,
        [['content-type', 'image/png']],
        Buffer.concat([
          Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
          Buffer.alloc(100, 0xff),
        ]),
      ),
    ),
    http(
      'detect: RIFF/WEBP header then zeros',
      request(
        'POST',
        DETECT,
        [['content-type', 'image/webp']],
        Buffer.concat([Buffer.from('RIFF\xff\xff\xff\x7fWEBPVP8 ', 'latin1'), Buffer.alloc(64)]),
      ),
    ),
    http(
      'detect: TIFF bytes as image/jpeg',
      request(
        'POST',
        DETECT,
        [['content-type', 'image/jpeg']],
        Buffer.concat([Buffer.from('II*\0', 'latin1'), Buffer.alloc(64, 1)]),
      ),
    ),
    http(
      'detect: threshold=NaN',
      request('POST', `${DETECT}?threshold=NaN`, [['content-type', 'image/jpeg']], jpeg),
    ),
    http(
      'detect: threshold twice',
      request('POST', `${DETECT}?threshold=0.5&threshold=2`, [['content-type', 'image/jpeg']], jpeg),
    ),
    // paths and methods
    http(
      'unknown model with %00',
      request('POST', '/v1/models/%00/detect', [['content-type', 'image/jpeg']], jpeg),
    ),
    http(
      'version 999',
      request('POST', `/v1/models/${MODEL}/versions/999/detect`, [['content-type', 'image/jpeg']], jpeg),
    ),
    http('a 6 KB path', request('GET', `/v2/models/${'m'.repeat(6000)}`, [])),
    http('dot segments', request('GET', '/v2/models/../../etc/passwd', [])),
    http('PUT detect', request('PUT', DETECT, [['content-type', 'image/jpeg']], jpeg)),
    http('DELETE a model', request('DELETE', `/v2/models/${MODEL}`, [])),
    http('OPTIONS *', request('OPTIONS', '*', [])),
    http(
      'absolute-form URL',
      request('POST', `http://evil.example${DETECT}`, [['content-type', 'image/jpeg']], jpeg),
    ),
    // v2 JSON and tensors
    jsonInfer('{"inputs": [{"name": "images", "datatype": "UINT8", "shape": [1, 480, 640'),
    jsonInfer('null'),
    jsonInfer('[]'),
    jsonInfer('{"inputs": null}'),
    jsonInfer(
      '{"__proto__": {"inputs": []}, "inputs": [{"name": "images", "datatype": "UINT8", "shape": [1, 480, 640, 3], "data": [1]}]}',
    ),
    jsonInfer(
      '{"inputs": [{"name": "images", "datatype": "UINT8", "shape": [1e300, 480, 640, 3], "data": []}]}',
    ),
    jsonInfer(
      '{"inputs": [{"name": "images", "datatype": "UINT8", "shape": [-1, 480, 640, 3], "data": []}]}',
    ),
    jsonInfer(
      '{"inputs": [{"name": "images", "datatype": "BF16", "shape": [1, 480, 640, 3], "data": [1, 2]}]}',
    ),
    jsonInfer(
      '{"inputs": [{"name": "images", "datatype": "UINT8", "shape": [1, 480, 640, 3], "data": ["a", {}, null]}]}',
    ),
    jsonInfer(
      '{"inputs": [{"name": "images", "datatype": "UINT8", "shape": [1, 480, 640, 3], "data": [1, 2, 3]}], "outputs": [{"name": "nope"}]}',
    ),
    jsonInfer(
      `{"inputs": [{"name": "${'n'.repeat(50_000)}", "datatype": "UINT8", "shape": [1], "data": [1]}]}`,
    ),
    // binary tensor extension
    http('binary: header length -1', binaryInfer(infer, tensor, '-1')),
    http('binary: header length beyond the body', binaryInfer(infer, tensor, String(10 ** 9))),
    http('binary: header length not a number', binaryInfer(infer, tensor, '12abc')),
    http('binary: header length 0', binaryInfer(infer, tensor, '0')),
    http(
      'binary: binary_data_size larger than the tensor',
      binaryInfer({ inputs: [{ ...infer.inputs[0], parameters: { binary_data_size: 10 ** 12 } }] }, tensor),
    ),
    http(
      'binary: binary_data_size negative',
      binaryInfer({ inputs: [{ ...infer.inputs[0], parameters: { binary_data_size: -5 } }] }, tensor),
    ),
    http(
      'binary: two inputs sharing the bytes',
      binaryInfer({ inputs: [infer.inputs[0], infer.inputs[0]] }, tensor),
    ),
    http('binary: tensor missing', binaryInfer(infer, Buffer.alloc(0))),
    // framing (the client half-closes; no answer is owed to a request it cut short)
    fuzzed(
      'Content-Length and Transfer-Encoding together',
      `POST ${DETECT} HTTP/1.1\r\nhost: x\r\ncontent-type: image/jpeg\r\ncontent-length: 4\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\n`,
    ),
    fuzzed(
      'two different Content-Lengths',
      `POST ${DETECT} HTTP/1.1\r\nhost: x\r\ncontent-length: 3\r\ncontent-length: 5\r\n\r\nabcde`,
    ),
    fuzzed('negative Content-Length', `POST ${DETECT} HTTP/1.1\r\nhost: x\r\ncontent-length: -1\r\n\r\n`),
    fuzzed(
      'chunk size not hex',
      `POST ${DETECT} HTTP/1.1\r\nhost: x\r\ncontent-type: image/jpeg\r\ntransfer-encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n`,
    ),
    fuzzed(
      'chunk size 2^64',
      `POST ${DETECT} HTTP/1.1\r\nhost: x\r\ncontent-type: image/jpeg\r\ntransfer-encoding: chunked\r\n\r\nffffffffffffffffff\r\nabc`,
    ),
    fuzzed(
      'body shorter than Content-Length',
      Buffer.concat([
        Buffer.from(
          `POST ${DETECT} HTTP/1.1\r\nhost: x\r\ncontent-type: image/jpeg\r\ncontent-length: 100000\r\n\r\n`,
        ),
        jpeg.subarray(0, 100),
      ]),
    ),
    fuzzed('obs-fold header', `GET /v2 HTTP/1.1\r\nhost: x\r\nx-a: 1\r\n  folded\r\n\r\n`),
    fuzzed('header without a colon', `GET /v2 HTTP/1.1\r\nhost: x\r\nno colon here\r\n\r\n`),
    fuzzed('bare LF line ends', `GET /v2 HTTP/1.1\nhost: x\n\n`),
    fuzzed('NUL in a header value', `GET /v2 HTTP/1.1\r\nhost: x\r\nx-a: a\0b\r\n\r\n`),
    fuzzed('HTTP/2 preface', 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'),
    fuzzed('HTTP/0.9', 'GET /\r\n'),
    fuzzed('HTTP/1.7', 'GET /v2 HTTP/1.7\r\nhost: x\r\n\r\n'),
    fuzzed('binary garbage', Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03])),
    fuzzed('a 100 KB header', `GET /v2 HTTP/1.1\r\nhost: x\r\nx-big: ${'a'.repeat(100_000)}\r\n\r\n`),
    fuzzed(
      'Expect: a strange expectation',
      `POST ${DETECT} HTTP/1.1\r\nhost: x\r\nexpect: 999-strange\r\ncontent-length: 3\r\n\r\nabc`,
    ),
    fuzzed(
      'Expect: 100-continue, then no body',
      `POST ${DETECT} HTTP/1.1\r\nhost: x\r\ncontent-type: image/jpeg\r\nexpect: 100-continue\r\ncontent-length: 2000\r\n\r\n`,
    ),
    fuzzed(
      'Upgrade: websocket',
      `GET /v2 HTTP/1.1\r\nhost: x\r\nconnection: upgrade\r\nupgrade: websocket\r\n\r\n`,
    ),
    fuzzed('CONNECT', 'CONNECT 127.0.0.1:22 HTTP/1.1\r\nhost: 127.0.0.1:22\r\n\r\n'),
    fuzzed('pipelined: good then bad', `GET /v2/health/live HTTP/1.1\r\nhost: x\r\n\r\nGARBAGE\r\n\r\n`),
  ];
}

/** gRPC messages that are not what the method expects. */
export function grpcCorpus(): HostileInput[] {
  const infer = '/inference.GRPCInferenceService/ModelInfer';
  const g = (what: string, method: string, bytes: Buffer): HostileInput => ({
    kind: 'grpc',
    what,
    method,
    bytes,
  });
  return [
    g('ModelInfer: empty message', infer, Buffer.alloc(0)),
    g('ModelInfer: not protobuf', infer, Buffer.from('hello, this is not a protobuf')),
    g(
      'ModelInfer: field 1 with a length past the end',
      infer,
      Buffer.from([0x0a, 0xff, 0xff, 0xff, 0x0f, 0x61]),
    ),
    g('ModelInfer: wrong wire type for model_name', infer, Buffer.from([0x0d, 1, 2, 3, 4])),
    g(
      'ModelInfer: 10-byte varint overflow',
      infer,
      Buffer.from([0x10, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]),
    ),
    g(
      'ModelMetadata: garbage',
      '/inference.GRPCInferenceService/ModelMetadata',
      Buffer.from([0xff, 0xff, 0xff]),
    ),
    g('an unknown method', '/inference.GRPCInferenceService/Nope', Buffer.from([0x0a, 0x01, 0x61])),
    g('health Check: garbage', '/grpc.health.v1.Health/Check', Buffer.from([0x0a, 0xff, 0x01])),
  ];
}
