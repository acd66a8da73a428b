import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  launchBrowser,
  segmentBoxes,
  waitForAttribute,
  waitForCount,
  watchProblems,
  type PageElement,
} from './browser.js';
import { clusterView, gpu, replica } from './cluster-fixture.js';
import { startFixtureServer } from './fixture-server.js';

// Page behaviour with a hand-built ClusterView (the real stack is in operator-view.test.ts).
const GiB = 1024 ** 3;

function twoNodes() {
  return clusterView(
    [
      gpu('node-a', 0, [
        replica('a0-1', { footprintBytes: 1 * GiB }),
        replica('a0-2', { footprintBytes: 3 * GiB, state: 'warming' }),
      ]),
      gpu(
        'node-b',
        0,
        [replica('b0-1', { footprintBytes: 6 * GiB, model: 'codetr', inFlight: 2, queueLength: 1 })],
        24 * GiB,
        512 * 1024 ** 2,
      ),
    ],
    {
      plan: {
        generatedAt: new Date().toISOString(),
        policy: 'binpack',
        memoryUtilization: 0.5,
        actions: [
          { type: 'create', model: 'shapes', node: 'node-b', gpuIndex: 0, replicaId: null, reason: 'demand' },
        ],
      },
    },
  );
}

let browser: Browser;
beforeAll(async () => {
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
});

describe('operator view page', () => {
  it('draws bars to capacity scale, groups by node, and survives a GPU disappearing', async () => {
    const server = await startFixtureServer(twoNodes());
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    const problems = watchProblems(page);
    try {
      await page.goto(`${server.url}/ui`);
      await page.waitForSelector('li.seg.replica');
      expect(
        await page.$$eval('[data-node]', (nodes: PageElement[]) =>
          nodes.map((n) => n.getAttribute('data-node')),
        ),
      ).toEqual(['node-a', 'node-b']);
      // the 8 GiB bar is a third of the 24 GiB one
      const tracks = await page.$$eval('ol.track', (ts: PageElement[]) =>
        ts.map((t) => t.getBoundingClientRect().width),
      );
      expect(tracks[0]! / tracks[1]!).toBeCloseTo(8 / 24, 2);
      const boxes = await segmentBoxes(page);
      const expected: Record<string, number> = { 'a0-1': 1 / 8, 'a0-2': 3 / 8, 'b0-1': 6 / 24 };
      for (const box of boxes)
        expect(Math.abs(box.width - expected[box.id]! * box.trackWidth)).toBeLessThan(1.5);
      expect(boxes.find((b) => b.id === 'a0-2')!.state).toBe('warming');
      expect(await page.textContent('#plan')).toContain('add a shapes replica on node-b / GPU 0');
      expect(await page.getAttribute('#connection', 'data-mode')).toBe('live');

      // node-b's GPU goes away: one bar left, and the change is written down
      const view = twoNodes();
      server.setView(clusterView([view.gpus[0]!]));
      await waitForCount(page, 'ol.track', 1);
      expect(await page.textContent('#changes')).toMatch(/GPU node-b \/ GPU 0 is gone/);
      expect(await page.textContent('#changes')).toMatch(/replica b0-1 \(codetr\) left node-b \/ GPU 0/);
      expect(problems).toEqual([]);
    } finally {
      await page.close();
      await server.close();
    }
  });

  it('falls back to polling /v1/cluster when server-sent events fail, and says when the gateway is gone', async () => {
    const server = await startFixtureServer(twoNodes(), { breakEvents: true });
    const page = await browser.newPage();
    try {
      await page.goto(`${server.url}/ui`);
      await page.waitForSelector('li.seg.replica');
      expect(await page.getAttribute('#connection', 'data-mode')).toBe('polling');
      expect(await page.$$eval('li.seg.replica', (s) => s.length)).toBe(3);

      await server.close();
      await waitForAttribute(page, '#connection', 'data-mode', 'offline');
      expect(await page.textContent('#connection-mode')).toMatch(/unreachable/);
      // the last picture stays readable
      expect(await page.$$eval('li.seg.replica', (s) => s.length)).toBe(3);
    } finally {
      await page.close();
    }
  });

  it('follows a dark colour scheme and keeps segment text readable in both', async () => {
    const server = await startFixtureServer(twoNodes());
    try {
      for (const colorScheme of ['light', 'dark'] as const) {
        const page = await browser.newPage({ colorScheme });
        await page.goto(`${server.url}/ui`);
        await page.waitForSelector('li.seg.replica');
        const colours = await page.evaluate<Colours>(`(() => {
          const style = (el) => getComputedStyle(el);
          return {
            body: style(document.body).backgroundColor,
            text: style(document.body).color,
            segments: Array.from(document.querySelectorAll('li.seg.replica[data-state="ready"]'), (li) => ({
              fg: style(li).color,
              bg: style(li).backgroundColor,
            })),
          };
        })()`);
        const bodyLuminance = luminance(colours.body);
        if (colorScheme === 'dark') expect(bodyLuminance).toBeLessThan(0.05);
        else expect(bodyLuminance).toBeGreaterThan(0.8);
        expect(contrast(colours.text, colours.body)).toBeGreaterThanOrEqual(7);
        expect(colours.segments.length).toBe(2);
        for (const { fg, bg } of colours.segments) expect(contrast(fg, bg)).toBeGreaterThanOrEqual(4.5); // WCAG AA
        await page.close();
      }
    } finally {
      await server.close();
    }
  });
});

interface Colours {
  body: string;
  text: string;
  segments: { fg: string; bg: string }[];
}

/** WCAG relative luminance of a CSS `rgb(r, g, b)` colour. */
function luminance(css: string): number {
  const [r, g, b] = (css.match(/\d+(\.\d+)?/g) ?? []).slice(0, 3).map((v) => {
    const c = Number(v) / 255;
    return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  });
  return 0.2126 * r! + 0.7152 * g! + 0.0722 * b!;
}

function contrast(a: string, b: string): number {
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
  return (hi! + 0.05) / (lo! + 0.05);
}

describe('operator view page: what placement buys', () => {
  it('compares with one replica per GPU on the same GPUs, shows compute beside memory, and says why a model waits', async () => {
    const view = clusterView(
      [
        gpu('local', 0, [replica('s0', { footprintBytes: 2 * GiB }), replica('d0', { footprintBytes: 2 * GiB, model: 'shapes-detr' })], 5 * GiB, 0, 0.25),
        gpu('local', 1, [replica('s1', { footprintBytes: 2 * GiB }), replica('d1', { footprintBytes: 2 * GiB, model: 'shapes-detr' })], 5 * GiB, 0, 0.75),
      ],
      {
        plan: {
          generatedAt: new Date().toISOString(),
          policy: 'throughput',
          memoryUtilization: 0.8,
          actions: [],
          seedMemoryUtilization: 0.4,
          gpus: [0, 1].map((index) => ({
            node: 'local', index, name: 'virtual', memoryTotalBytes: 5 * GiB, memoryReservedBytes: 0, virtual: true,
            models: [{ model: 'shapes', replicas: 1 }, { model: 'shapes-detr', replicas: 1 }],
            utilization: index === 0 ? 0.25 : 0.75, reservedFor: index === 1 ? 'codetr' : null,
          })),
          unplaced: [{ model: 'codetr', count: 1, reason: 'waiting for local/1 to drain', gpus: [{ gpu: 'local/0', reason: 'short by 5.6 GiB' }] }],
        },
      },
    ); // prettier-ignore
    const server = await startFixtureServer(view);
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    const problems = watchProblems(page);
    try {
      await page.goto(`${server.url}/ui`);
      await page.waitForSelector('li.seg.replica');
      expect(await page.textContent('#cluster-util')).toBe('80.0 %');
      expect(await page.textContent('#seed-note')).toBe(
        'One replica per GPU on these GPUs (no packing): 40.0 % — 40.0 points above',
      );
      expect(await page.textContent('#cluster-compute')).toBe('50.0 %');
      expect(
        await page.$$eval('[data-field="compute"]', (xs: PageElement[]) => xs.map((x) => x.textContent)),
      ).toEqual(['25.0 % compute', '75.0 % compute']);
      expect(await page.$$eval('#plan-gpus li', (xs: PageElement[]) => xs.map((x) => x.textContent))).toEqual(
        [
          'local / GPU 0: shapes ×1, shapes-detr ×1 · 25.0 % compute',
          'local / GPU 1: shapes ×1, shapes-detr ×1 · 75.0 % compute · kept free for codetr',
        ],
      );
      expect(await page.textContent('.plan-unplaced[data-model="codetr"]')).toBe(
        'codetr: 1 not placed — waiting for local/1 to drain' + 'local/0: short by 5.6 GiB',
      );
      // Without a plan the headline falls back to the seed's measured 40 %.
      server.setView({ ...view, plan: null });
      await waitForAttribute(page, '#seed-note', 'data-source', 'seed');
      expect(await page.textContent('#seed-note')).toBe(
        'Without packing: 40 % (one 9.6 GB Co-DETR replica per 24 GB GPU) — 40.0 points above',
      );
      expect(problems).toEqual([]);
    } finally {
      await page.close();
      await server.close();
    }
  });
});

describe('operator view page: versions side by side', () => {
  it("shows each version's replicas, the configured split weights and the plan's model@version rows", async () => {
    const model = (version: string, replicas: number, splitWeight: number, splitShare: number) => ({
      name: 'codetr', version, replicas, readyReplicas: replicas, requestRate: 4, p95Seconds: 0.2, errorRate: 0,
      queued: 0, splitWeight, splitShare,
    }); // prettier-ignore
    // the same model as the page gets it without a version split: the two fields absent
    const withoutSplit = ({ splitWeight: _w, splitShare: _s, ...rest }: ReturnType<typeof model>) => rest;
    const view = clusterView(
      [
        gpu('node-a', 0, [replica('v1-a', { model: 'codetr', footprintBytes: 9 * GiB }), replica('v2-a', { model: 'codetr', version: '2', footprintBytes: 9 * GiB })], 24 * GiB),
        gpu('node-a', 1, [replica('v1-b', { model: 'codetr', footprintBytes: 9 * GiB })], 24 * GiB),
      ],
      {
        models: [model('1', 2, 90, 0.9), model('2', 1, 10, 0.1), model('3', 0, 0, 0)],
        plan: {
          generatedAt: new Date().toISOString(),
          policy: 'throughput',
          memoryUtilization: 0.56,
          actions: [],
          gpus: [
            { node: 'node-a', index: 0, name: 'RTX 4090', memoryTotalBytes: 24 * GiB, memoryReservedBytes: 0, virtual: false,
              models: [{ model: 'codetr@1', replicas: 1 }, { model: 'codetr@2', replicas: 1 }], utilization: null, reservedFor: null },
            { node: 'node-a', index: 1, name: 'RTX 4090', memoryTotalBytes: 24 * GiB, memoryReservedBytes: 0, virtual: false,
              models: [{ model: 'codetr@1', replicas: 1 }], utilization: null, reservedFor: null },
          ],
        },
      },
    ); // prettier-ignore
    const server = await startFixtureServer(view);
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    const problems = watchProblems(page);
    try {
      await page.goto(`${server.url}/ui`);
      await page.waitForSelector('tr[data-version="2"]');
      const rows = await page.$$eval('#models tbody tr', (trs: TableRow[]) =>
        trs.map((tr) => ({
          model: tr.querySelector('th')?.textContent,
          replicas: tr.querySelector('[data-field="replicas"]')?.textContent,
          split: tr.querySelector('[data-field="split"]')?.textContent,
        })),
      );
      expect(rows).toEqual([
        { model: 'codetr:1', replicas: '2 / 2', split: '90.0 % (weight 90)' },
        { model: 'codetr:2', replicas: '1 / 1', split: '10.0 % (weight 10)' },
        { model: 'codetr:3', replicas: '0 / 0', split: '0.0 % (weight 0)' },
      ]);
      expect(await page.$$eval('#plan-gpus li', (xs: PageElement[]) => xs.map((x) => x.textContent))).toEqual(
        ['node-a / GPU 0: codetr@1 ×1, codetr@2 ×1', 'node-a / GPU 1: codetr@1 ×1'],
      );
      // Each replica says which version it serves, in the replica table and on its segment.
      expect(
        await page.$$eval('#replicas tbody tr', (trs: TableRow[]) =>
          trs.map((tr) => tr.children[1]?.textContent ?? null).sort(),
        ),
      ).toEqual(['codetr:1', 'codetr:1', 'codetr:2']);
      expect(await page.getAttribute('li.seg.replica[data-replica-id="v2-a"]', 'title')).toMatch(
        /^v2-a — codetr:2,/,
      );
      expect(await page.textContent('li.seg.replica[data-replica-id="v2-a"]')).toMatch(/^codetr:2 · ready/);

      // Without a split the column says so.
      server.setView({
        ...view,
        models: [withoutSplit(model('1', 2, 0, 0))],
      });
      await waitForCount(page, '#models tbody tr', 1);
      expect(await page.textContent('#models tbody [data-field="split"]')).toBe('—');
      expect(problems).toEqual([]);
    } finally {
      await page.close();
      await server.close();
    }
  });
});

/** A table row as the page's $$eval callbacks read it (the project's TypeScript has no DOM library). */
interface TableRow {
  querySelector(selector: string): { readonly textContent: string | null } | null;
  readonly children: ArrayLike<{ readonly textContent: string | null } | undefined>;
}
