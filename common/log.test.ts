import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from './log.js';

describe('createLogger', () => {
  const saved = process.env.GPUMUX_LOG_LEVEL;
  afterEach(() => {
    if (saved === undefined) delete process.env.GPUMUX_LOG_LEVEL;
    else process.env.GPUMUX_LOG_LEVEL = saved;
  });

  it('writes one JSON object per line with bindings, fields and serialised errors', () => {
    const lines: string[] = [];
    const log = createLogger({ component: 'test' }, (l) => lines.push(l)).child({ replicaId: 'r1' });
    log.warn('slow', { err: new Error('boom'), ms: 12 });
    const record = JSON.parse(lines[0]!) as Record<string, unknown>;
    expect(record).toMatchObject({ level: 'warn', msg: 'slow', component: 'test', replicaId: 'r1', ms: 12 });
    expect(record.err).toEqual({ name: 'Error', message: 'boom' });
  });

  it('drops lines below GPUMUX_LOG_LEVEL but always writes announcements', () => {
    process.env.GPUMUX_LOG_LEVEL = 'warn';
    const lines: string[] = [];
    const log = createLogger({}, (l) => lines.push(l));
    log.info('hidden');
    log.announce('listening', { url: 'http://127.0.0.1:1' });
    log.error('shown');
    expect(lines.map((l) => (JSON.parse(l) as { msg: string }).msg)).toEqual(['listening', 'shown']);
  });
});
