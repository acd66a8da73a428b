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

  it('refuses an invalid file or flag with the offending path', async () => {
    await expect(gatewayConfigFrom({ limits: { nope: 1 } }, noFlags)).rejects.toThrow(/limits/);
    await expect(gatewayConfigFrom({}, { ...noFlags, reserve: 'lots' })).rejects.toThrow(/reserve/);
  });
});
