/**
 * Polls `fn` every 50 ms until it returns something other than undefined or false, and returns that value;
 * throws naming `what` once `timeoutMs` has passed. For tests that wait on a real server or process.
 */
export async function until<T>(
  what: string,
  fn: () => T | undefined | false,
  timeoutMs = 15_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
