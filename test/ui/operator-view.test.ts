import { copyFile, mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClusterView } from '../../gateway/operator/cluster-view.js';
import { REPO_ROOT } from '../helpers/replica-process.js';
import { drawImage } from '../helpers/images.js';
import {
  launchBrowser,
  segmentBoxes,
  waitForAttribute,
  waitForAttributeNot,
  waitForCount,
  waitForNumberAbove,
  watchProblems,
  type PageElement,
} from './browser.js';
import { startStack, type Stack } from './stack.js';

// End to end: `gpumux up` (scheduler, local orchestrator, gateway, three real replica processes on two
// virtual 8 GiB GPUs) and the page in a real chromium.
const ARTIFACTS = path.join(REPO_ROOT, 'test-artifacts');
const SCREENSHOT = path.join(ARTIFACTS, 'operator-view.png');

let stack: Stack;
let browser: Browser;
let page: Page;
let problems: string[];

beforeAll(async () => {
  [stack, browser] = await Promise.all([startStack(), launchBrowser()]);
  page = await browser.newPage({ viewport: { width: 1280, height: 800 }, colorScheme: 'light' });
  problems = watchProblems(page);
  await page.goto(`${stack.adminUrl}/ui`);
});

afterAll(async () => {
  await browser?.close();
  await stack?.close();
});

async function clusterView(): Promise<ClusterView> {
  const res = await fetch(`${stack.adminUrl}/v1/cluster`);
  expect(res.status).toBe(200);
  return (await res.json()) as ClusterView;
}

const RATE_CELL = 'tr[data-model="shapes"] td[data-field="requestRate"]';

function shownRate(): Promise<number> {
  return page.$eval(RATE_CELL, (td: PageElement) => Number(td.textContent));
}

/** Sends `count` detections through the gateway, `concurrency` at a time; gives up after `budgetMs`. */
async function sendLoad(
  count: number,
  concurrency: number,
  budgetMs: number,
): Promise<{ ok: number; failed: number }> {
  const image = await drawImage({
    width: 320,
    height: 240,
    rects: [{ box: [40, 40, 120, 100], color: 'red' }],
  });
  const deadline = Date.now() + budgetMs;
  let next = 0;
  const outcome = { ok: 0, failed: 0 };
  const worker = async (): Promise<void> => {
    while (next < count && Date.now() < deadline) {
      next += 1;
      const res = await fetch(`${stack.url}/v1/models/shapes/detect`, {
        method: 'POST',
        body: image,
        headers: { 'content-type': 'image/jpeg' },
        signal: AbortSignal.timeout(5000),
      }).catch(() => null);
      await res?.arrayBuffer();
      if (res?.ok) outcome.ok += 1;
      else outcome.failed += 1;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return outcome;
}

describe('operator view on the local stack', () => {
  it('shows two GPU bars and three replica segments as wide as their footprints', async () => {
    await waitForCount(page, 'li.seg.replica[data-state="ready"]', 3, 15_000);
    expect(await page.$$eval('.gpu', (gpus) => gpus.length)).toBe(2);
    expect(await page.getAttribute('#connection', 'data-mode')).toBe('live');

    const view = await clusterView();
    const declared = (
      JSON.parse(await readFile(path.join(REPO_ROOT, 'models/shapes/manifest.json'), 'utf8')) as {
        memory: { declaredBytes: number };
      }
    ).memory.declaredBytes;
    const boxes = await segmentBoxes(page);
    expect(boxes.map((b) => b.id).sort()).toEqual(
      view.gpus.flatMap((g) => g.replicas.map((r) => r.id)).sort(),
    );
    for (const box of boxes) {
      const gpu = view.gpus.find((g) => g.replicas.some((r) => r.id === box.id))!;
      const replica = gpu.replicas.find((r) => r.id === box.id)!;
      expect(replica.footprintBytes).toBe(declared); // virtual GPUs: the manifest's footprint, through replica and gateway
      const expectedWidth = (replica.footprintBytes / gpu.memoryTotalBytes) * box.trackWidth;
      expect(
        Math.abs(box.width - expectedWidth),
        `${box.id}: ${box.width}px, expected ${expectedWidth}px`,
      ).toBeLessThan(1.5);
    }
    expect(await page.textContent('#cluster-util')).toBe(
      `${(view.totals.memoryUtilization * 100).toFixed(1)} %`,
    );
  });

  it('shows the request rate rising under load', async () => {
    const before = await shownRate();
    // bounded: 120 requests or 10 s, 4 at a time; the page is looked at while they run
    const load = sendLoad(120, 4, 10_000);
    await waitForNumberAbove(page, RATE_CELL, before);
    expect(await shownRate()).toBeGreaterThan(before);

    await mkdir(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    // The README's picture: refreshed only when asked, so a test run does not dirty the tree.
    if (process.env.GPUMUX_UPDATE_DOCS_SCREENSHOT === '1')
      await copyFile(SCREENSHOT, path.join(REPO_ROOT, 'docs', 'operator-view.png'));

    const sent = await load;
    expect(sent.failed).toBe(0);
    expect(sent.ok).toBeGreaterThan(0);
  });

  it('shows a killed replica within 5 s, stays readable, and follows its restart', async () => {
    const view = await clusterView();
    const crowded = view.gpus.find((g) => g.replicas.length > 1)!;
    const victim = crowded.replicas[crowded.replicas.length - 1]!.id;
    const segment = `li.seg.replica[data-replica-id="${victim}"]`;
    const killedAt = Date.now();
    await stack.killReplica(victim);
    // gone from its bar, or drawn as failed/unreachable/warming: anything but ready
    await waitForAttributeNot(page, segment, 'data-state', 'ready');
    const seenAfterMs = Date.now() - killedAt;
    const shownAs = (await (await page.$(segment))?.getAttribute('data-state')) ?? 'gone';
    console.info(JSON.stringify({ msg: 'killed replica shown', replica: victim, shownAs, seenAfterMs }));
    expect(seenAfterMs).toBeLessThan(5000);
    expect(await page.textContent('#changes')).toContain(victim);
    // the other two are still drawn as ready
    const others = (await segmentBoxes(page)).filter((b) => b.id !== victim).map((b) => b.state);
    expect(others).toEqual(['ready', 'ready']);
    await page.screenshot({ path: path.join(ARTIFACTS, 'operator-view-after-kill.png'), fullPage: true });

    // the local orchestrator restarts it in place; the page follows without a reload
    await waitForAttribute(page, segment, 'data-state', 'ready', 60_000);
    await waitForCount(page, 'li.seg.replica[data-state="ready"]', 3);
    expect(problems).toEqual([]);
  });
});
