import { createHash, timingSafeEqual } from 'node:crypto';

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

/**
 * Checks an `Authorization: Bearer <token>` header against the configured tokens in constant time: both sides
 * are SHA-256 digests (equal length, so timingSafeEqual applies) and every token is compared, match or not.
 *
 * @example
 * const allowed = createBearerCheck(['s3cret']);
 * allowed('Bearer s3cret'); // true
 */
export function createBearerCheck(tokens: readonly string[]): (authorization: string | undefined) => boolean {
  const digests = tokens.map(digest);
  return function bearerAllowed(authorization) {
    if (authorization === undefined || !/^bearer /i.test(authorization)) return false;
    const presented = digest(authorization.slice(7).trim());
    let ok = false;
    for (const d of digests) ok = timingSafeEqual(presented, d) || ok;
    return ok;
  };
}
