import { bodyLimit } from 'hono/body-limit';
import { GpumuxError } from '../../common/errors.js';
import { formatBytes } from '../../common/bytes.js';

/**
 * hono's bodyLimit (checks Content-Length up front, and counts bytes while streaming when there is none),
 * answering with our PAYLOAD_TOO_LARGE so the error has the project's shape.
 */
export function limitBody(maxBytes: number) {
  return bodyLimit({
    maxSize: maxBytes,
    onError: () => {
      throw new GpumuxError(
        'PAYLOAD_TOO_LARGE',
        `request body is larger than ${formatBytes(maxBytes)} (${maxBytes} bytes)`,
      );
    },
  });
}
