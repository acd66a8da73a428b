// @ts-check
// The models table: replicas ready, traffic split, rate, p95, errors per model version.
import { $, h, replaceChildren } from './dom.js';
import { percent, rate, seconds } from './format.js';
import { colour } from './labels.js';
/** @typedef {import('../../../operator/cluster-view.js').ClusterView} ClusterView */

/** @param {ClusterView} view */
export function renderModels(view) {
  const rows = (view.models || []).map(function (m) {
    const sw = h('span', { className: 'swatch', 'aria-hidden': 'true' });
    sw.style.backgroundColor = colour(m.name);
    return h('tr', { 'data-model': m.name, 'data-version': m.version }, [
      h('th', { scope: 'row' }, [sw, m.name + ':' + m.version]),
      h('td', { className: 'num', 'data-field': 'replicas', text: m.readyReplicas + ' / ' + m.replicas }),
      // Versions side by side: this version's share of the model's unversioned traffic, as configured.
      h('td', {
        className: 'num',
        'data-field': 'split',
        text: m.splitWeight === undefined ? '—' : percent(m.splitShare) + ' (weight ' + m.splitWeight + ')',
      }),
      h('td', {
        className: 'num',
        'data-field': 'requestRate',
        'data-value': m.requestRate,
        text: rate(m.requestRate),
      }),
      h('td', { className: 'num', 'data-field': 'p95', text: seconds(m.p95Seconds) }),
      h('td', {
        className: 'num' + (m.errorRate >= 0.01 ? ' errors-high' : ''),
        'data-field': 'errorRate',
        text: percent(m.errorRate),
      }),
    ]);
  });
  if (rows.length === 0)
    rows.push(h('tr', null, [h('td', { colspan: 6, className: 'muted', text: 'No models served yet.' })]));
  replaceChildren(/** @type {HTMLTableElement} */ ($('models')).tBodies[0], rows);
}
