// @ts-check
// The cluster summary: memory utilisation against one replica per GPU (no packing), compute, counts.
import { $, h, replaceChildren } from './dom.js';
import { bytes, percent, usedOfTotal } from './format.js';
/** @typedef {import('../../../operator/cluster-view.js').ClusterView} ClusterView */

const SEED_UTILIZATION = 0.4; // Co-DETR unpacked: one 9.6 GB replica per 24 GB RTX 4090 (docs/scheduler.md)

/**
 * One replica per GPU on these GPUs (no packing, from the scheduler's plan) when known — a fair comparison on
 * virtual or smaller GPUs — else Co-DETR's measured 40 % of a 24 GB RTX 4090 without packing.
 */
/** @param {ClusterView} view */
function seedBaseline(view) {
  const planned =
    view.plan && typeof view.plan.seedMemoryUtilization === 'number' ? view.plan.seedMemoryUtilization : null;
  return planned === null
    ? {
        ratio: SEED_UTILIZATION,
        source: 'seed',
        label: 'Without packing: 40 % (one 9.6 GB Co-DETR replica per 24 GB GPU)',
      }
    : {
        ratio: planned,
        source: 'plan',
        label: 'One replica per GPU on these GPUs (no packing): ' + percent(planned),
      };
}

/** @param {ClusterView} view */
export function renderSummary(view) {
  const t = view.totals;
  const seed = seedBaseline(view);
  const fill = h('span', { className: 'fill' });
  fill.style.width = Math.min(100, t.memoryUtilization * 100) + '%';
  const mark = h('span', { className: 'seed', title: seed.label });
  mark.style.left = seed.ratio * 100 + '%';
  const delta = (t.memoryUtilization - seed.ratio) * 100;
  const note =
    seed.label +
    ' — ' +
    (delta >= 0 ? delta.toFixed(1) + ' points above' : (-delta).toFixed(1) + ' points below');
  const compute =
    t.computeUtilization === null || t.computeUtilization === undefined ? '—' : percent(t.computeUtilization);
  const items = [
    h('div', { className: 'item util' }, [
      h('span', { className: 'label', id: 'cluster-util-label', text: 'Cluster memory utilisation' }),
      h('span', {
        className: 'value',
        id: 'cluster-util',
        'data-value': t.memoryUtilization,
        text: percent(t.memoryUtilization),
      }),
      h(
        'div',
        {
          className: 'utilbar',
          role: 'img',
          'aria-label':
            'Utilisation ' +
            percent(t.memoryUtilization) +
            ' against ' +
            percent(seed.ratio) +
            ' with one replica per GPU',
        },
        [fill, mark],
      ),
      h('span', {
        className: 'utilnote',
        id: 'seed-note',
        'data-seed': seed.ratio,
        'data-source': seed.source,
        text: note,
      }),
    ]),
    item('Compute utilisation', compute, 'cluster-compute'),
    item('GPUs', String(t.gpus), 'gpu-count'),
    item('Replicas ready', t.readyReplicas + ' of ' + t.replicas, 'replica-count'),
    item('Memory used / total', usedOfTotal(t.memoryUsedBytes, t.memoryTotalBytes)),
    item('Headroom', bytes(t.memoryHeadroomBytes)),
  ];
  replaceChildren($('summary'), items);
}

/** @param {string} label @param {string} value @param {string} [id] */
function item(label, value, id) {
  return h('div', { className: 'item' }, [
    h('span', { className: 'label', text: label }),
    h('span', { className: 'value', id: id, text: value }),
  ]);
}
