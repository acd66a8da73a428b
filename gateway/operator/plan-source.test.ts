import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../common/log.js';
import { schedulerPlanSource } from './plan-source.js';

let server: Server | undefined;
afterEach(() => new Promise<void>((r) => (server ? server.close(() => r()) : r())));

/** A scheduler stand-in that answers GET /v1/plan with whatever `answer` holds. */
async function scheduler(answer: { body: unknown }): Promise<string> {
  server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer.body));
  });
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const valid = {
  generatedAt: '2026-11-25T12:00:00.000Z',
  policy: 'binpack',
  memoryUtilization: 0.5,
  actions: [{ type: 'create', model: 'shapes', node: 'n1', gpuIndex: 0, replicaId: null, reason: 'fits' }],
  gpus: [{ node: 'n1', index: 0, name: null, memoryTotalBytes: 1e9, memoryReservedBytes: 0, virtual: true }],
};

describe('schedulerPlanSource', () => {
  it('passes a valid plan, and treats an invalid one as null with one warning', async () => {
    const answer: { body: unknown } = { body: valid };
    const lines: string[] = [];
    const fetchPlan = schedulerPlanSource(
      await scheduler(answer),
      createLogger({}, (l) => lines.push(l)),
    );
    expect(await fetchPlan()).toEqual(valid);
    answer.body = { ...valid, actions: [{ ...valid.actions[0], gpuIndex: 'zero' }] };
    expect(await fetchPlan()).toBeNull();
    answer.body = { hello: 'world' };
    expect(await fetchPlan()).toBeNull();
    const warnings = lines.map((l) => JSON.parse(l) as { level: string; msg: string });
    expect(warnings.filter((w) => w.level === 'warn')).toHaveLength(1);
    expect(warnings[0]!.msg).toMatch(/plan is invalid/);
    // Valid again, then invalid again: warned again.
    answer.body = valid;
    expect(await fetchPlan()).toEqual(valid);
    answer.body = [];
    expect(await fetchPlan()).toBeNull();
    expect(lines.filter((l) => l.includes('"warn"'))).toHaveLength(2);
  });
});
