// @ts-check
// Recent changes between two pictures, in words.
import { $, h, replaceChildren } from './dom.js';
import { clock } from './format.js';
import { gpuPlace } from './labels.js';
/** @typedef {import('../../../operator/cluster-view.js').ClusterView} ClusterView */
/** @typedef {import('../../../operator/cluster-view.js').GpuView} GpuView */

/** @type {{ at: Date; text: string }[]} */ let changes = [];

/** What changed since the last picture, in words: so a replica or GPU that vanishes is still named. */
/** @param {ClusterView} before @param {ClusterView} after @returns {string[]} */
export function diff(before, after) {
  /** @type {string[]} */ const out = [];
  /** @typedef {{ r: { id: string; model: string; state: string }; place: string }} Seen */
  /**
   * @param {ClusterView} view
   * @returns {{ gpus: Record<string, GpuView>; replicas: Record<string, Seen> }}
   */
  function index(view) {
    /** @type {Record<string, GpuView>} */
    const gpus = {};
    /** @type {Record<string, Seen>} */
    const replicas = {};
    view.gpus.forEach(function (g) {
      gpus[g.id] = g;
      g.replicas.forEach(function (r) {
        replicas[r.id] = { r: r, place: gpuPlace(g) };
      });
    });
    (view.unplaced || []).forEach(function (u) {
      if (!replicas[u.id]) replicas[u.id] = { r: { id: u.id, model: '?', state: u.state }, place: 'no GPU' };
    });
    return { gpus: gpus, replicas: replicas };
  }
  const a = index(before),
    b = index(after);
  Object.keys(a.gpus).forEach(function (id) {
    if (!b.gpus[id]) out.push('GPU ' + gpuPlace(a.gpus[id]) + ' is gone');
  });
  Object.keys(b.gpus).forEach(function (id) {
    if (!a.gpus[id]) out.push('GPU ' + gpuPlace(b.gpus[id]) + ' appeared');
  });
  Object.keys(a.replicas).forEach(function (id) {
    const was = a.replicas[id];
    if (!b.replicas[id]) out.push('replica ' + id + ' (' + was.r.model + ') left ' + was.place);
  });
  Object.keys(b.replicas).forEach(function (id) {
    const now = b.replicas[id],
      was = a.replicas[id];
    if (!was)
      out.push('replica ' + id + ' (' + now.r.model + ') appeared on ' + now.place + ', ' + now.r.state);
    else if (was.r.state !== now.r.state)
      out.push('replica ' + id + ': ' + was.r.state + ' → ' + now.r.state);
    else if (was.place !== now.place) out.push('replica ' + id + ' moved to ' + now.place);
  });
  return out;
}

/** @param {string[]} lines */
export function renderChanges(lines) {
  const now = new Date();
  lines.forEach(function (text) {
    changes.unshift({ at: now, text: text });
  });
  changes = changes.slice(0, 30);
  replaceChildren(
    $('changes'),
    changes.map(function (c) {
      return h('li', null, [h('time', { datetime: c.at.toISOString(), text: clock(c.at) }), c.text]);
    }),
  );
}
