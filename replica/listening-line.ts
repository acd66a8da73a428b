/**
 * The replica's `listening` log line: the one line (JSON on stderr, see common/log.ts) that tells whoever
 * started the process — the local orchestrator, tests, benches — which URL it listens on.
 */
export const LISTENING_MSG = 'listening';

/** The URL from a replica's `listening` log line; undefined for any other line (or a non-JSON one). */
export function parseListeningLine(line: string): string | undefined {
  return parseListeningRecord(line)?.url;
}

/** The URL and, with `--grpc-port`, the gRPC `host:port` from a `listening` line; undefined for any other. */
export function parseListeningRecord(line: string): { url: string; grpc: string | null } | undefined {
  if (!line.includes(`"${LISTENING_MSG}"`)) return undefined; // cheap pre-check: most lines are not it
  try {
    const record = JSON.parse(line) as { msg?: unknown; url?: unknown; grpc?: unknown };
    if (record.msg !== LISTENING_MSG || typeof record.url !== 'string') return undefined;
    return { url: record.url, grpc: typeof record.grpc === 'string' ? record.grpc : null };
  } catch {
    return undefined; // not a JSON log line
  }
}
