import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { createWorkAdmission } from './admission.js';
import type { ReplicaEnv } from './env.js';

describe('createWorkAdmission', () => {
  it('refuses work beyond the limit before reading the body, and admits again once a slot frees', async () => {
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let bodiesRead = 0;
    const admission = createWorkAdmission({ limit: () => 1 });
    const app = new Hono<ReplicaEnv>();
    app.on('POST', ['/v1/models/*', '/v2/models/*'], admission.middleware);
    app.post('/v1/models/m/detect', async (c) => {
      await c.req.arrayBuffer();
      c.get('takeSlot')?.(); // the body is complete: now it holds a slot
      bodiesRead++;
      await held;
      return c.json({ ok: true });
    });
    app.post('/v2/models/m/infer', async (c) => {
      const body: unknown = await c.req.json();
      c.get('takeSlot')?.();
      return c.json(body);
    });

    const first = app.request('/v1/models/m/detect', { method: 'POST', body: 'a' });
    await new Promise((r) => setTimeout(r, 10));
    expect(admission.active()).toBe(1);

    const refused = await app.request('/v1/models/m/detect', { method: 'POST', body: 'b' });
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toBe('1');
    expect(refused.headers.get('connection')).toBe('close');
    expect(await refused.json()).toEqual({ error: { code: 'QUEUE_FULL', message: expect.any(String) } });
    const v2 = await app.request('/v2/models/m/infer', { method: 'POST', body: '{}' });
    expect(v2.status).toBe(429);
    expect(await v2.json()).toMatchObject({ code: 'QUEUE_FULL', error: expect.any(String) });
    expect(bodiesRead).toBe(1);

    release();
    expect((await first).status).toBe(200);
    expect(admission.active()).toBe(0);
    expect((await app.request('/v2/models/m/infer', { method: 'POST', body: '{"x":1}' })).status).toBe(200);
  });
});

describe('createWorkAdmission slot timing', () => {
  it('a request holds no slot until its route takes one (body complete or proven fast)', async () => {
    let finishBody!: () => void;
    const bodyDone = new Promise<void>((r) => (finishBody = r));
    const admission = createWorkAdmission({ limit: () => 1 });
    const app = new Hono<ReplicaEnv>();
    app.on('POST', ['/v1/models/*'], admission.middleware);
    app.post('/v1/models/m/detect', async (c) => {
      if (c.req.header('x-slow')) await bodyDone; // still uploading
      c.get('takeSlot')?.();
      return c.json({ ok: true });
    });
    const uploading = app.request('/v1/models/m/detect', {
      method: 'POST',
      body: 'a',
      headers: { 'x-slow': '1' },
    });
    await new Promise((r) => setTimeout(r, 10));
    expect(admission.active()).toBe(0);
    expect((await app.request('/v1/models/m/detect', { method: 'POST', body: 'b' })).status).toBe(200);
    finishBody();
    expect((await uploading).status).toBe(200);
    expect(admission.active()).toBe(0);
  });
});
