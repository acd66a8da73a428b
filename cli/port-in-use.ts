/**
 * An EADDRINUSE from any listener (HTTP, or gRPC's "No address added ... EADDRINUSE ...:8001") as the flag
 * that chose the port: `up` opens four ports, and "address already in use" alone does not say whose.
 */
export function portInUse(err: unknown, flags: Record<string, number | null | undefined>): Error | null {
  if (!(err instanceof Error)) return null;
  const { code, port } = err as Error & { code?: unknown; port?: unknown };
  const text = /EADDRINUSE\b.*?:(\d+)\b/.exec(err.message);
  const busy = typeof port === 'number' && code === 'EADDRINUSE' ? port : text ? Number(text[1]) : null;
  if (busy === null) return null;
  const flag = Object.entries(flags).find(([, p]) => p === busy)?.[0];
  return new Error(
    `port ${busy} is already in use${flag ? ` (${flag})` : ''}: stop what listens there, or choose another ` +
      `with ${flag ?? 'the port flags'} (0 = any free port)`,
  );
}
