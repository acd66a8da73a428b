import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { createBodyBudget } from './body-budget.js';
import type { ReplicaEnv } from './env.js';

describe('createBodyBudget', () => {
  it('refuses a body that does not fit with 429 OVERLOADED + Retry-After, unread, and admits again once freed', async () => {
    const budget = createBodyBudget({ capacityBytes: 100, unknownLengthBytes: 80 });
    const gates: (() => void)[] = [];
    const app = new Hono<ReplicaEnv>();
    app.post('/work', budget.middleware, async (c) => {
      await new Promise<void>((resolve) => gates.push(resolve));
      return c.text('done');
    });
    const post = (bytes: number) =>
      app.request('/work', {
        method: 'POST',
        body: 'x'.repeat(bytes),
        headers: { 'content-length': String(bytes) },
      });

    const first = post(60);
    await new Promise((r) => setImmediate(r));
    expect(budget.used()).toBe(60);
    const refused = await post(60);
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toBe('1');
    expect(refused.headers.get('connection')).toBe('close');
    expect(await refused.json()).toMatchObject({ error: { code: 'OVERLOADED' } });

    const fits = post(40); // 60 + 40 ≤ 100
    await new Promise((r) => setImmediate(r));
    expect(budget.used()).toBe(100);
    gates.splice(0).forEach((g) => g());
    expect((await first).status).toBe(200);
    expect((await fits).status).toBe(200);
    expect(budget.used()).toBe(0);
  });

  it('always admits one request into an empty budget, however large (the route limit decides)', async () => {
    const budget = createBodyBudget({ capacityBytes: 10, unknownLengthBytes: 10 });
    const app = new Hono<ReplicaEnv>();
    app.post('/work', budget.middleware, (c) => c.text('ok'));
    const res = await app.request('/work', {
      method: 'POST',
      body: 'x'.repeat(50),
      headers: { 'content-length': '50' },
    });
    expect(res.status).toBe(200);
  });
});
