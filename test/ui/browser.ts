import { chromium, type Browser, type Page } from 'playwright-core';

/** Debian's chromium; tests never download a browser. */
const CHROMIUM = '/usr/bin/chromium';

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
}

/** Collects what the page complains about, so a test can assert there was nothing (CSP violations included). */
export function watchProblems(page: Page): string[] {
  const problems: string[] = [];
  page.on('pageerror', (error) => problems.push(`pageerror: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console: ${message.text()}`);
  });
  page.on('requestfailed', (request) => {
    // EventSource streams are cut when the page closes; that is not a problem
    if (!request.url().endsWith('/ui/events')) problems.push(`requestfailed: ${request.url()}`);
  });
  return problems;
}

export interface SegmentBox {
  id: string;
  state: string;
  model: string;
  width: number;
  trackWidth: number;
}

/** What the $eval/$$eval callbacks here read of an element (the project's TypeScript has no DOM lib). */
export interface PageElement {
  closest(selector: string): PageElement | null;
  getAttribute(name: string): string | null;
  getBoundingClientRect(): { width: number };
  readonly clientWidth: number;
  readonly textContent: string | null;
}

/** Rendered width of every replica segment and of the inside of its GPU bar. */
export function segmentBoxes(page: Page): Promise<SegmentBox[]> {
  return page.$$eval('li.seg.replica', (items: PageElement[]) =>
    items.map((li) => {
      const track = li.closest('ol.track');
      return {
        id: li.getAttribute('data-replica-id') ?? '',
        state: li.getAttribute('data-state') ?? '',
        model: li.getAttribute('data-model') ?? '',
        width: li.getBoundingClientRect().width,
        trackWidth: track?.clientWidth ?? 0, // inside the border: what the flex percentages are of
      };
    }),
  );
}

// Predicates below run inside the page (the page's CSP forbids string evaluation, and the project's
// TypeScript has no DOM lib): each one reaches the document through this minimal shape.
interface PageDocument {
  querySelectorAll(selector: string): { length: number };
  querySelector(
    selector: string,
  ): { textContent: string | null; getAttribute(name: string): string | null } | null;
}

/** Waits until `selector` matches exactly `count` elements. */
export async function waitForCount(
  page: Page,
  selector: string,
  count: number,
  timeout = 5000,
): Promise<void> {
  await page.waitForFunction(
    ([sel, n]) =>
      (globalThis as unknown as { document: PageDocument }).document.querySelectorAll(sel).length === n,
    [selector, count] as const,
    { timeout },
  );
}

/** Waits until the first element matching `selector` has `attribute` = `value` (`null`: no such element). */
export async function waitForAttribute(
  page: Page,
  selector: string,
  attribute: string,
  value: string | null,
  timeout = 5000,
): Promise<void> {
  await page.waitForFunction(
    ([sel, attr, want]) => {
      const el = (globalThis as unknown as { document: PageDocument }).document.querySelector(sel);
      return (el === null ? null : el.getAttribute(attr)) === want;
    },
    [selector, attribute, value] as const,
    { timeout },
  );
}

/** Waits until the first element matching `selector` no longer has `attribute` = `value` (or is gone). */
export async function waitForAttributeNot(
  page: Page,
  selector: string,
  attribute: string,
  value: string,
  timeout = 5000,
): Promise<void> {
  await page.waitForFunction(
    ([sel, attr, was]) => {
      const el = (globalThis as unknown as { document: PageDocument }).document.querySelector(sel);
      return el === null || el.getAttribute(attr) !== was;
    },
    [selector, attribute, value] as const,
    { timeout },
  );
}

/** Waits until the number shown by the first element matching `selector` exceeds `threshold`. */
export async function waitForNumberAbove(
  page: Page,
  selector: string,
  threshold: number,
  timeout = 5000,
): Promise<void> {
  await page.waitForFunction(
    ([sel, min]) =>
      Number((globalThis as unknown as { document: PageDocument }).document.querySelector(sel)?.textContent) >
      min,
    [selector, threshold] as const,
    { timeout },
  );
}
