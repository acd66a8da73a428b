/**
 * A dead replica's own last error, from the JSON log lines it wrote (common/log.ts: `msg`, `err.message`):
 * what an operator needs first when a replica crash-loops, e.g. `model failed to load; exiting: ... model.onnx
 * ... File doesn't exist`. Non-JSON lines (a runtime's own stderr) count when no error record exists.
 */
export function lastErrorLine(lines: readonly string[]): string | null {
  let plain: string | null = null;
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = lines[i]!.trim();
    if (!line) continue;
    let record: unknown;
    try {
      record = JSON.parse(line);
    } catch {
      plain ??= line;
      continue;
    }
    if (typeof record !== 'object' || record === null) continue;
    const { level, msg, err } = record as { level?: unknown; msg?: unknown; err?: { message?: unknown } };
    if (level !== 'error' && level !== 'fatal') continue;
    const detail = typeof err?.message === 'string' ? err.message : null;
    return [typeof msg === 'string' ? msg : null, detail].filter(Boolean).join(': ').slice(0, 600) || line;
  }
  return plain?.slice(0, 600) ?? null;
}

const MISSING_MODEL = [/File doesn't exist/i, /ENOENT/, /no such file/i, /cannot read model manifest/i];

/** What to do about a failure an operator can fix, in a few words and a pointer; null when there is none. */
export function failureHint(message: string): string | null {
  if (MISSING_MODEL.some((p) => p.test(message)))
    return (
      'the model files are missing: export the model (models/codetr/README.md, "Your own model") and put ' +
      'model.onnx beside its manifest.json (docs/k3s.md: on the model volume)'
    );
  return null;
}
