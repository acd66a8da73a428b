import { describe, expect, it } from 'vitest';
import { gatewayConfigFrom } from './gateway.js';

const noFlags = {
  port: 8080,
  adminPort: 8090,
  host: '0.0.0.0',
  replica: [],
  discovery: 'static' as const,
  namespace: 'default',
  selector: '',
  replicaPort: 8081,
};

describe('gatewayConfigFrom', () => {
  it('lays explicit flags over the file; what neither sets gets the default', async () => {
    const file = { pollInterval: '250ms', timeout: '5s', shutdown: { grace: '10s' } };
    const config = await gatewayConfigFrom(file, { ...noFlags, timeout: '2s', shutdownDelay: '3s' });
    expect(config.pollInterval).toBe(250); // the file's
    expect(config.timeout).toBe(2000); // the flag beats the file
    expect(config.shutdown).toEqual({ grace: 10_000, notReadyDelay: 3000 }); // merged, not replaced
    expect(config.reserve).toBe(512 * 1024 ** 2); // the default
  });

  it('per-try timeout, retry budget and drain deadline from flags, merged into the file', async () => {
    const file = { retries: { max: 1, perTryTimeout: { multiple: 3 }, budget: { min: 10 } } };
    const config = await gatewayConfigFrom(file, {
      ...noFlags,
      perTryTimeout: '500ms',
      retryBudget: '0.1',
      shutdownGrace: '5s',
    });
    expect(config.retries).toEqual({
      max: 1,
      perTryTimeout: { multiple: 3, min: 500, max: 30_000 },
      budget: { ratio: 0.1, min: 10, window: 10_000 },
    });
    expect(config.shutdown).toEqual({ notReadyDelay: 0, grace: 5000 });
    await expect(gatewayConfigFrom({}, { ...noFlags, retryBudget: 'lots' })).rejects.toThrow(/ratio/);
    await expect(gatewayConfigFrom({}, { ...noFlags, perTryTimeout: '60s' })).rejects.toThrow(
      /perTryTimeout/,
    );
  });

  it('refuses an invalid file or flag with the offending path', async () => {
    await expect(gatewayConfigFrom({ limits: { nope: 1 } }, noFlags)).rejects.toThrow(/limits/);
    await expect(gatewayConfigFrom({}, { ...noFlags, reserve: 'lots' })).rejects.toThrow(/reserve/);
  });
});
