import { createHash, timingSafeEqual } from 'node:crypto';

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

/**
 * Checks a presented token against the configured ones in constant time: both sides are SHA-256 digests
 * (equal length, so timingSafeEqual applies) and every token is compared, match or not.
 *
 * @example
 * const known = createTokenCheck(['s3cret']);
 * known('s3cret'); // true
 */
export function createTokenCheck(tokens: readonly string[]): (token: string) => boolean {
  const digests = tokens.map(digest);
  return function tokenKnown(token) {
    const presented = digest(token);
    let ok = false;
    for (const d of digests) ok = timingSafeEqual(presented, d) || ok;
    return ok;
  };
}

/**
 * The same check on a whole `Authorization: Bearer <token>` header (the client port's lean path, which has
 * no Hono middleware).
 *
 * @example
 * const allowed = createBearerCheck(['s3cret']);
 * allowed('Bearer s3cret'); // true
 */
export function createBearerCheck(tokens: readonly string[]): (authorization: string | undefined) => boolean {
  const known = createTokenCheck(tokens);
  return function bearerAllowed(authorization) {
    if (authorization === undefined || !/^bearer /i.test(authorization)) return false;
    return known(authorization.slice(7).trim());
  };
}
