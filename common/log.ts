/**
 * Structured JSON logs, one object per line on stderr (stdout stays free for CLI output such as `plan`).
 * Level from GPUMUX_LOG_LEVEL (debug|info|warn|error|silent), default info.
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
const ORDER: Record<LogLevel | 'silent', number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  /**
   * An info line written whatever the level: for lines other processes parse (a replica's `listening`
   * line carries its URL to the orchestrator and the tests), so GPUMUX_LOG_LEVEL=warn cannot break them.
   */
  announce(msg: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): Logger;
}

function threshold(): number {
  const level = (process.env.GPUMUX_LOG_LEVEL ?? 'info') as LogLevel | 'silent';
  return ORDER[level] ?? ORDER.info;
}

function serialise(value: unknown): unknown {
  if (value instanceof Error) {
    const out: Record<string, unknown> = { name: value.name, message: value.message };
    if ('code' in value) out.code = (value as { code: unknown }).code;
    if (value.cause !== undefined) out.cause = serialise(value.cause);
    return out;
  }
  return value;
}

export function createLogger(
  bindings: Record<string, unknown> = {},
  write: (line: string) => void = (line) => process.stderr.write(line + '\n'),
): Logger {
  const min = threshold();
  const emit = (level: LogLevel, msg: string, fields?: Record<string, unknown>, force = false): void => {
    if (!force && ORDER[level] < min) return;
    const record: Record<string, unknown> = { time: new Date().toISOString(), level, msg, ...bindings };
    if (fields) for (const [k, v] of Object.entries(fields)) record[k] = serialise(v);
    write(JSON.stringify(record));
  };
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    announce: (m, f) => emit('info', m, f, true),
    child: (fields) => createLogger({ ...bindings, ...fields }, write),
  };
}
