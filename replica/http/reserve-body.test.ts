import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { createBodyBudget } from '../../common/http/body-budget.js';
import { reserveBody } from './reserve-body.js';
import type { ReplicaEnv } from './env.js';

describe('reserveBody', () => {
  it('refuses a body that does not fit with 429 OVERLOADED + Retry-After, unread, and admits again once freed', async () => {
    const budget = createBodyBudget(100);
    const gates: (() => void)[] = [];
    const app = new Hono<ReplicaEnv>();
    app.post('/work', reserveBody(budget, 80), async (c) => {
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
    expect(budget.held()).toBe(60);
    const refused = await post(60);
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toBe('1');
    expect(refused.headers.get('connection')).toBe('close');
    expect(await refused.json()).toMatchObject({ error: { code: 'OVERLOADED' } });

    const fits = post(40); // 60 + 40 ≤ 100
    await new Promise((r) => setImmediate(r));
    expect(budget.held()).toBe(100);
    gates.splice(0).forEach((g) => g());
    expect((await first).status).toBe(200);
    expect((await fits).status).toBe(200);
    expect(budget.held()).toBe(0);
  });

  it('always admits one request into an empty budget, however large (the route limit decides)', async () => {
    const budget = createBodyBudget(10);
    const app = new Hono<ReplicaEnv>();
    app.post('/work', reserveBody(budget, 10), (c) => c.text('ok'));
    const res = await app.request('/work', {
      method: 'POST',
      body: 'x'.repeat(50),
      headers: { 'content-length': '50' },
    });
    expect(res.status).toBe(200);
  });
});
