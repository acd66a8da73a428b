import { describe, expect, it } from 'vitest';
import { parseDuration } from '../common/duration.js';
import { parseGatewayConfig } from './config.js';

describe('gateway config', () => {
  it('fills defaults and parses sizes and durations', () => {
    const c = parseGatewayConfig({ reserve: '1GiB', timeout: '2s', routing: { weights: { latency: 5 } } });
    expect(c.reserve).toBe(1024 ** 3);
    expect(c.timeout).toBe(2000);
    expect(c.routing.weights).toEqual({ outstanding: 3, contention: 2, latency: 5, headroom: 1 });
    expect(c.limits.maxBodyBytes).toBe(32 * 1024 ** 2);
    expect(c.limits.maxHeldBodyBytes).toBe(256 * 1024 ** 2);
    expect(c.limits.requestTimeout).toBe(60_000);
    expect(c.limits.headersTimeout).toBe(10_000);
    expect(c.shutdown).toEqual({ notReadyDelay: 0, grace: 30_000 });
    const d = parseGatewayConfig({ limits: { maxHeldBodyBytes: '64MiB' }, shutdown: { grace: '5s' } });
    expect(d.limits.maxHeldBodyBytes).toBe(64 * 1024 ** 2);
    expect(d.shutdown.grace).toBe(5000);
  });
  it('refuses unknown keys and bad values with a readable message', () => {
    expect(() => parseGatewayConfig({ routing: { wieghts: {} } })).toThrow(/wieghts/);
    expect(() => parseGatewayConfig({ reserve: 'lots' })).toThrow(/invalid size/);
  });
  it.each([
    ['250ms', 250],
    ['1.5s', 1500],
    ['2m', 120_000],
    ['800', 800],
  ])('duration %s', (input, ms) => expect(parseDuration(input)).toBe(ms));
});
