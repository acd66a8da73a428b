// @ts-check
// The replicas table, placed and unplaced.
import { $, h, replaceChildren } from './dom.js';
import { bytes, seconds } from './format.js';
import { gpuPlace, stateLabel } from './labels.js';
/** @typedef {import('../../../operator/cluster-view.js').ClusterView} ClusterView */

/** @param {ClusterView} view */
export function renderReplicas(view) {
  /** @type {HTMLElement[]} */ const rows = [];
  view.gpus.forEach(function (gpu) {
    gpu.replicas.forEach(function (r) {
      rows.push(
        h('tr', { 'data-replica-id': r.id }, [
          h('th', { scope: 'row', text: r.id }),
          h('td', { text: r.model + ':' + r.version }),
          h('td', { text: gpuPlace(gpu) }),
          h('td', {
            className: 'state ' + r.state,
            text:
              stateLabel(r) + (r.consecutiveFailures > 0 ? ' (' + r.consecutiveFailures + ' failures)' : ''),
          }),
          h('td', { className: 'num', text: bytes(r.footprintBytes) }),
          h('td', { className: 'num', 'data-field': 'inFlight', text: String(r.inFlight) }),
          h('td', { className: 'num', 'data-field': 'queueLength', text: String(r.queueLength) }),
          h('td', { className: 'num', text: seconds(r.ewmaServiceSeconds) }),
        ]),
      );
    });
  });
  (view.unplaced || []).forEach(function (u) {
    rows.push(
      h('tr', { 'data-replica-id': u.id }, [
        h('th', { scope: 'row', text: u.id }),
        h('td', { text: '—' }),
        h('td', { text: 'unknown' }),
        h('td', { className: 'state unreachable', text: u.state }),
        h('td', { className: 'num', text: '—' }),
        h('td', { className: 'num', text: '—' }),
        h('td', { className: 'num', text: '—' }),
        h('td', { className: 'num', text: '—' }),
      ]),
    );
  });
  if (rows.length === 0)
    rows.push(h('tr', null, [h('td', { colspan: 8, className: 'muted', text: 'No replicas.' })]));
  replaceChildren(/** @type {HTMLTableElement} */ ($('replicas')).tBodies[0], rows);
}
