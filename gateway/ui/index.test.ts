import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { describe, expect, it } from 'vitest';
import { clusterView, gpu, replica } from '../../test/ui/cluster-fixture.js';
import { BROWSER_MODULES } from './assets/browser-modules.js';
import { uiRoutes } from './index.js';

const view = clusterView([gpu('node-a', 0, [replica('r1')])]);

async function readEvents(response: Response, count: number): Promise<string[]> {
  const reader = response.body!.getReader() as ReadableStreamDefaultReader<Uint8Array>;
  const decoder = new TextDecoder();
  let text = '';
  while (text.split('\n\n').length - 1 < count) {
    const { done, value } = await reader.read();
    if (done) break;
    text += decoder.decode(value, { stream: true });
  }
  await reader.cancel();
  return text.split('\n\n').filter(Boolean);
}

/**
 * Another browser's stream as a clock: `count(n)` reads until at least n more events came and says how many.
 * A stream that stopped is seen to stay stopped while this one goes on at the same interval.
 */
function eventClock(response: Response): { count(n: number): Promise<number>; stop(): Promise<void> } {
  const reader = response.body!.getReader() as ReadableStreamDefaultReader<Uint8Array>;
  const decoder = new TextDecoder();
  let text = '';
  return {
    async count(n) {
      let seen = 0;
      while (seen < n) {
        const { done, value } = await reader.read();
        if (done) throw new Error('the stream ended');
        const parts = (text + decoder.decode(value, { stream: true })).split('\n\n');
        seen += parts.length - 1;
        text = parts.at(-1)!;
      }
      return seen;
    },
    stop: () => reader.cancel(),
  };
}

describe('uiRoutes', () => {
  it('serves the page with its own script and stylesheet, and a policy that forbids anything else', async () => {
    const app = uiRoutes({ getClusterView: () => view });
    const page = await app.request('/ui');
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(page.headers.get('content-security-policy')).toContain("default-src 'none'");
    const html = await page.text();
    expect(html).toContain('src="/ui/app.js"');
    expect(html).toContain('href="/ui/app.css"');
    expect(html).not.toMatch(/https?:\/\//); // no CDN, no web font

    expect(html).toContain('type="module"');
    const js = await app.request('/ui/app.js');
    expect(js.headers.get('content-type')).toMatch(/^text\/javascript/);
    expect(await js.text()).toBe(BROWSER_MODULES.get('app.js'));
    const css = await app.request('/ui/app.css');
    expect(css.headers.get('content-type')).toMatch(/^text\/css/);
    expect(await css.text()).toContain('prefers-color-scheme: dark');
  });

  it('serves every module the script imports, and nothing else; none uses innerHTML', async () => {
    const app = uiRoutes({ getClusterView: () => view });
    const imported = new Set<string>(['app.js']);
    for (const source of BROWSER_MODULES.values()) {
      expect(source).not.toMatch(/innerHTML|https?:\/\//);
      for (const m of source.matchAll(/^import .* from '\.\/([a-z-]+\.js)';$/gm)) imported.add(m[1]!);
    }
    expect([...imported].sort()).toEqual([...BROWSER_MODULES.keys()].sort()); // each one used, none missing
    for (const name of imported) {
      const res = await app.request(`/ui/${name}`);
      expect(res.status, name).toBe(200);
    }
    const formatter = await (await app.request('/ui/format-bytes.js')).text();
    expect(formatter).toMatch(/^export const formatBytes = /); // common/bytes.ts's, so sizes read as in the CLI
    for (const path of ['/ui/tsconfig.json', '/ui/format-bytes.d.ts', '/ui/nope.js', '/ui/browser/app.js'])
      expect((await app.request(path)).status, path).toBe(404);
  });

  it('redirects /ui/ to /ui', async () => {
    const res = await uiRoutes({ getClusterView: () => view }).request('/ui/');
    expect(res.status).toBe(308);
    expect(res.headers.get('location')).toBe('/ui');
  });

  it('streams a ClusterView as a server-sent event every interval', async () => {
    let calls = 0;
    const app = uiRoutes({ getClusterView: () => ({ ...view, generatedAt: `t${++calls}` }), intervalMs: 20 });
    const res = await app.request('/ui/events');
    expect(res.headers.get('content-type')).toBe('text/event-stream');
    const events = await readEvents(res, 2);
    expect(events[0]).toContain('event: cluster');
    expect(events[0]).toContain('retry: 2000');
    const data = events.map((e) => JSON.parse(/^data: (.*)$/m.exec(e)![1]!) as { generatedAt: string });
    expect(data[0]!.generatedAt).toBe('t1');
    expect(data[1]!.generatedAt).toBe('t2');
    expect(data[1]!).toMatchObject({ totals: { gpus: 1, replicas: 1 } });
  });

  it('keeps streaming when the view fails once, and stops asking when the client leaves', async () => {
    let calls = 0;
    const app = uiRoutes({
      intervalMs: 10,
      getClusterView: () => {
        calls += 1;
        if (calls === 1) return Promise.reject(new Error('inventory not ready'));
        return Promise.resolve(view);
      },
    });
    const events = await readEvents(await app.request('/ui/events'), 2);
    expect(events[0]).toContain('event: problem');
    expect(events[0]).toContain('inventory not ready');
    expect(events[1]).toContain('event: cluster');
    // A second browser: after three of its events (time for the first loop to see its client gone), each of
    // its events is one ask (one more if its next tick began); had the first loop gone on, about twice that.
    const clock = eventClock(await app.request('/ui/events'));
    await clock.count(3);
    const after = calls;
    const ticks = await clock.count(10);
    expect(calls - after).toBeGreaterThanOrEqual(ticks - 1); // its first ask may come before `after`
    expect(calls - after).toBeLessThanOrEqual(ticks + 1);
    await clock.stop();
  });

  it('stops polling the view when a browser disconnects from a real server', async () => {
    let calls = 0;
    const app = uiRoutes({ intervalMs: 10, getClusterView: () => (calls++, view) });
    const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' });
    await new Promise<void>((resolve) => server.once('listening', () => resolve()));
    try {
      const { port } = server.address() as AddressInfo;
      const abort = new AbortController();
      const res = await fetch(`http://127.0.0.1:${port}/ui/events`, { signal: abort.signal });
      expect(res.status).toBe(200);
      expect(res.headers.get('x-accel-buffering')).toBe('no');
      const reader = res.body!.getReader();
      await reader.read();
      abort.abort();
      // Another browser's stream as the clock (as above): one ask per event once the first loop has stopped.
      const clock = eventClock(await fetch(`http://127.0.0.1:${port}/ui/events`));
      await clock.count(3);
      const after = calls;
      const ticks = await clock.count(20);
      expect(calls - after).toBeGreaterThanOrEqual(ticks - 1); // its first ask may come before `after`
      expect(calls - after).toBeLessThanOrEqual(ticks + 1);
      await clock.stop();
    } finally {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        if ('closeAllConnections' in server) server.closeAllConnections();
      });
    }
  });
});
