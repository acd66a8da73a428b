// @ts-check
// How the operator view writes numbers. formatBytes is common/bytes.ts's, served as /ui/format-bytes.js
// (gateway/ui/assets/browser-modules.ts), so the page and the CLI write sizes one way.
import { formatBytes } from './format-bytes.js';

export const bytes = formatBytes;

/** "17.6 / 40.0 GiB" when both are GiB, else each with its own unit. */
/** @param {number} used @param {number} total */
export function usedOfTotal(used, total) {
  const GiB = 1073741824;
  if (used >= GiB && total >= GiB) return (used / GiB).toFixed(1) + ' / ' + bytes(total);
  return bytes(used) + ' / ' + bytes(total);
}

/** @param {number} ratio */
export function percent(ratio) {
  return (ratio * 100).toFixed(1) + ' %';
}

/** @param {number} perSecond */
export function rate(perSecond) {
  return perSecond < 10 ? perSecond.toFixed(2) : perSecond.toFixed(1);
}

/** @param {number | null | undefined} s */
export function seconds(s) {
  if (s === null || s === undefined || s === 0) return '—'; // 0: nothing measured yet
  if (s < 0.01) return (s * 1000).toFixed(1) + ' ms';
  return s < 1 ? Math.round(s * 1000) + ' ms' : s.toFixed(2) + ' s';
}

/** @param {Date} date */
export function clock(date) {
  return date.toTimeString().slice(0, 8);
}
