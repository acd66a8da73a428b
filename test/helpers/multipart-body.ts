/** Hand-built multipart/form-data bodies (boundary `XX`) for the parser's tests at the gateway and in common/. */

export const MULTIPART_TYPE = 'multipart/form-data; boundary=XX';

/** One part: its header lines, a blank line, the content. */
export const part = (headers: string, content: Buffer | string): Buffer =>
  Buffer.concat([Buffer.from(`--XX\r\n${headers}\r\n\r\n`), Buffer.from(content), Buffer.from('\r\n')]);

/** A file part named `name` (the detect API's `image` by default) holding `content` as a JPEG. */
export const image = (content: Buffer | string, name = 'image'): Buffer =>
  part(
    `Content-Disposition: form-data; name="${name}"; filename="a.jpg"\r\nContent-Type: image/jpeg`,
    content,
  );

/** The parts followed by the closing boundary. */
export const closed = (...parts: Buffer[]): Buffer => Buffer.concat([...parts, Buffer.from('--XX--\r\n')]);
