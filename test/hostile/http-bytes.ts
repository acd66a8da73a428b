/** Building raw HTTP/1.1 requests for the hostile suite. */

export const MODEL = 'shapes';
export const DETECT = `/v1/models/${MODEL}/detect`;
export const INFER = `/v2/models/${MODEL}/infer`;

export type Header = readonly [string, string];

/**
 * A well-framed request: the exact Content-Length (unless `headers` sets framing itself) and
 * `connection: close`, so the server owes an answer.
 */
export function request(
  method: string,
  path: string,
  headers: readonly Header[],
  body: Buffer | string = Buffer.alloc(0),
): Buffer {
  const bytes = typeof body === 'string' ? Buffer.from(body, 'latin1') : body;
  const framed = headers.some(([n]) => /^(content-length|transfer-encoding)$/i.test(n));
  const all: Header[] = [
    ['host', 'hostile'],
    ['connection', 'close'],
    ...headers,
    ...(framed ? [] : [['content-length', String(bytes.byteLength)] as Header]),
  ];
  const head = `${method} ${path} HTTP/1.1\r\n${all.map(([n, v]) => `${n}: ${v}\r\n`).join('')}\r\n`;
  return Buffer.concat([Buffer.from(head, 'latin1'), bytes]);
}

/** A multipart/form-data body from parts; `end` decides how it ends (the closing boundary or not). */
export function multipartBody(
  boundary: string,
  parts: readonly { headers: string; content: Buffer }[],
  end: 'closed' | 'open' | 'epilogue' = 'closed',
): Buffer {
  const chunks: Buffer[] = [];
  for (const p of parts) {
    chunks.push(
      Buffer.from(`--${boundary}\r\n${p.headers}\r\n\r\n`, 'latin1'),
      p.content,
      Buffer.from('\r\n'),
    );
  }
  if (end !== 'open') chunks.push(Buffer.from(`--${boundary}--\r\n`));
  if (end === 'epilogue') chunks.push(Buffer.from('trailing junk after the end'));
  return Buffer.concat(chunks);
}

export const imagePart = (content: Buffer, filename = 'a.jpg', type = 'image/jpeg') => ({
  headers: `Content-Disposition: form-data; name="image"; filename="${filename}"\r\nContent-Type: ${type}`,
  content,
});

/** A KServe v2 request with the binary tensor extension: JSON header, then the tensors' bytes. */
export function binaryInfer(header: unknown, tensor: Buffer, headerLength?: string): Buffer {
  const json = Buffer.from(JSON.stringify(header));
  return request(
    'POST',
    INFER,
    [
      ['content-type', 'application/octet-stream'],
      ['inference-header-content-length', headerLength ?? String(json.byteLength)],
    ],
    Buffer.concat([json, tensor]),
  );
}
