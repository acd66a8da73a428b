import { spawn } from 'node:child_process';
import { once } from 'node:events';
import net from 'node:net';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../test/helpers/cli-process.js';
import { portInUse } from './port-in-use.js';

describe('a port already in use names its flag', () => {
  const flags = { '--port': 8080, '--admin-port': 8090, '--grpc-port': 8001, '--scheduler-port': 8070 };

  it("from Node's EADDRINUSE and from gRPC's bind error", () => {
    const http = Object.assign(new Error('listen EADDRINUSE: address already in use 127.0.0.1:8090'), {
      code: 'EADDRINUSE',
      port: 8090,
    });
    expect(portInUse(http, flags)?.message).toBe(
      'port 8090 is already in use (--admin-port): stop what listens there, or choose another with ' +
        '--admin-port (0 = any free port)',
    );
    const grpc = new Error(
      'No address added out of total 1 resolved errors: [listen EADDRINUSE: address already in use 127.0.0.1:8001]',
    );
    expect(portInUse(grpc, flags)?.message).toMatch(/^port 8001 is already in use \(--grpc-port\)/);
    expect(portInUse(new Error('other'), flags)).toBeNull();
  });

  it('gpumux up exits 1 and says --scheduler-port when that port is taken', async () => {
    const holder = net.createServer().listen(0, '127.0.0.1');
    await once(holder, 'listening');
    const busy = (holder.address() as net.AddressInfo).port;
    try {
      const up = spawn(
        process.execPath,
        [
          '--import', 'tsx', path.join(REPO_ROOT, 'cli/main.ts'), 'up', '--gpus', '1x5GiB', '--models', 'shapes=1',
          '--port', '0', '--admin-port', '0', '--no-grpc', '--scheduler-port', String(busy),
        ],
        { cwd: REPO_ROOT, stdio: ['ignore', 'ignore', 'pipe'] },
      ); // prettier-ignore
      let stderr = '';
      up.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
      const [code] = (await once(up, 'exit')) as [number | null];
      expect(code).toBe(1);
      expect(stderr).toContain(`gpumux: port ${busy} is already in use (--scheduler-port)`);
    } finally {
      holder.close();
    }
  }, 60_000);
});
