import { Hono } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { describe, expect, it } from 'vitest';
import { GpumuxError } from '../errors.js';
import { errorHandlers, type ErrorShape } from './hono-errors.js';

function appWith(shape: ErrorShape): Hono {
  const app = new Hono();
  app.get('/:prefix/busy', () => {
    throw new GpumuxError('QUEUE_FULL', 'queue is full', { retryAfterSeconds: 1.5 });
  });
  app.get('/:prefix/boom', () => {
    throw new Error('a bug');
  });
  app.get('/v1/rendered', () => {
    throw new HTTPException(401, { res: new Response('rendered', { status: 401 }) });
  });
  const { onError, notFound } = errorHandlers({ shape });
  app.onError(onError);
  app.notFound(notFound);
  return app;
}

describe('errorHandlers', () => {
  it('answers in the shape the app asked for, with status and Retry-After from the error table', async () => {
    const v1 = await appWith('v1').request('/v2/busy');
    expect(v1.status).toBe(429);
    expect(v1.headers.get('retry-after')).toBe('2');
    expect(await v1.json()).toEqual({ error: { code: 'QUEUE_FULL', message: 'queue is full' } });
    const v2 = await appWith('v2').request('/v1/busy');
    expect(await v2.json()).toEqual({ error: 'queue is full', code: 'QUEUE_FULL' });
    const byPath = appWith('by-path');
    expect(await (await byPath.request('/v2/busy')).json()).toEqual({
      error: 'queue is full',
      code: 'QUEUE_FULL',
    });
    expect(await (await byPath.request('/v1/busy')).json()).toMatchObject({ error: { code: 'QUEUE_FULL' } });
  });

  it('hides an unknown failure behind INTERNAL and answers unknown paths with NOT_FOUND', async () => {
    const app = appWith('v1');
    const boom = await app.request('/v1/boom');
    expect(boom.status).toBe(500);
    expect(await boom.json()).toEqual({ error: { code: 'INTERNAL', message: 'internal error' } });
    const missing = await app.request('/nowhere');
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({
      error: { code: 'NOT_FOUND', message: 'no route for GET /nowhere' },
    });
  });

  it('sends an HTTPException that carries its own response as it is (bearer-auth)', async () => {
    const res = await appWith('v1').request('/v1/rendered');
    expect(res.status).toBe(401);
    expect(await res.text()).toBe('rendered');
  });
});
