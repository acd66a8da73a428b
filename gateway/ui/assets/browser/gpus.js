// @ts-check
// One bar per GPU, one segment per replica; the replicas without stats; the legend.
import { $, h, replaceChildren } from './dom.js';
import { bytes, percent } from './format.js';
import { colour, coloursSoFar, gpuLabel, gpuPlace, shownState, stateLabel } from './labels.js';
/** @typedef {import('../../../operator/cluster-view.js').ClusterView} ClusterView */
/** @typedef {import('../../../operator/cluster-view.js').GpuView} GpuView */
/** @typedef {import('../../../operator/cluster-view.js').ReplicaView} ReplicaView */
/** @typedef {import('./dom.js').AttrValue} AttrValue */

/**
 * @param {string} className
 * @param {number} widthRatio
 * @param {string[]} lines
 * @param {Record<string, AttrValue>} [attrs]
 */
function segment(className, widthRatio, lines, attrs) {
  const li = h('li', Object.assign({ className: 'seg ' + className }, attrs || {}), [
    h('div', { className: 'l1', text: lines[0] }),
    lines[1] ? h('div', { className: 'l2', text: lines[1] }) : null,
  ]);
  li.style.flexBasis = Math.max(0, widthRatio * 100) + '%';
  return li;
}

/** @param {GpuView} gpu @param {number} maxTotal @param {Record<string, boolean>} versioned */
function renderGpu(gpu, maxTotal, versioned) {
  const total = gpu.memoryTotalBytes || 1;
  /** @type {HTMLElement[]} */ const segments = [];
  let replicaBytes = 0;
  gpu.replicas.forEach(function (r) {
    replicaBytes += r.footprintBytes;
    const state = shownState(r.state);
    const label = (versioned[r.model] ? r.model + ':' + r.version : r.model) + ' · ' + stateLabel(r);
    const detail = r.inFlight + ' in flight · ' + r.queueLength + ' queued · ' + bytes(r.footprintBytes);
    const li = segment('replica', r.footprintBytes / total, [label, detail], {
      'data-replica-id': r.id,
      'data-model': r.model,
      'data-version': r.version,
      'data-state': state,
      'data-footprint': r.footprintBytes,
      title: r.id + ' — ' + r.model + ':' + r.version + ', ' + stateLabel(r) + ', ' + detail,
      'aria-label':
        'Replica ' +
        r.id +
        ', model ' +
        r.model +
        ', ' +
        stateLabel(r) +
        ', ' +
        bytes(r.footprintBytes) +
        ', ' +
        detail,
    });
    li.style.backgroundColor = colour(r.model);
    segments.push(li);
  });
  const other = Math.max(0, gpu.memoryUsedBytes - replicaBytes);
  if (other / total >= 0.002) {
    segments.push(
      segment('other', other / total, ['other', bytes(other)], {
        title: 'Used by other processes: ' + bytes(other),
        'aria-label': 'Other use ' + bytes(other),
      }),
    );
  }
  if (gpu.memoryReservedBytes > 0) {
    segments.push(
      segment('reserve', gpu.memoryReservedBytes / total, ['reserve', bytes(gpu.memoryReservedBytes)], {
        title: 'Kept free by policy: ' + bytes(gpu.memoryReservedBytes),
        'aria-label': 'Reserve ' + bytes(gpu.memoryReservedBytes),
      }),
    );
  }
  const free = h(
    'li',
    {
      className: 'seg headroom',
      'data-headroom': gpu.memoryHeadroomBytes,
      'aria-label': 'Headroom ' + bytes(gpu.memoryHeadroomBytes),
    },
    [
      h('span', {
        text: gpu.memoryHeadroomBytes > 0 ? bytes(gpu.memoryHeadroomBytes) + ' headroom' : 'no headroom',
      }),
    ],
  );
  segments.push(free);

  const summary =
    gpuPlace(gpu) +
    ': ' +
    bytes(gpu.memoryTotalBytes) +
    ', ' +
    percent(gpu.memoryUtilization) +
    ' used, ' +
    gpu.replicas.length +
    (gpu.replicas.length === 1 ? ' replica, ' : ' replicas, ') +
    bytes(gpu.memoryHeadroomBytes) +
    ' headroom';
  const track = h(
    'ol',
    { className: 'track', 'aria-label': summary, 'data-total': gpu.memoryTotalBytes },
    segments,
  );
  track.style.width = (gpu.memoryTotalBytes / maxTotal) * 100 + '%';

  const kind =
    gpu.name && gpu.name !== 'virtual'
      ? gpu.name + (gpu.virtual ? ' (virtual)' : '')
      : gpu.virtual
        ? 'virtual GPU'
        : 'GPU';
  return h('div', { className: 'gpu' + (gpu.critical ? ' critical' : ''), 'data-gpu-id': gpu.id }, [
    h('div', { className: 'name' }, [
      gpuLabel(gpu),
      h('small', { text: kind + ' · ' + bytes(gpu.memoryTotalBytes) }),
    ]),
    h('div', { className: 'bar' }, [track]),
    h('div', { className: 'stats' }, [
      h('strong', { text: percent(gpu.memoryUtilization) }),
      ' used',
      gpu.critical
        ? h('span', null, [' ', h('span', { className: 'badge bad', text: 'critical headroom' })])
        : null,
      h('br'),
      bytes(gpu.memoryHeadroomBytes) + ' headroom',
      h('br'),
      h('span', {
        'data-field': 'compute',
        'data-value': gpu.computeUtilization === null ? '' : gpu.computeUtilization,
        title:
          gpu.computeSource === 'measured'
            ? 'nvidia-smi utilization.gpu'
            : "Σ of the replicas' busy shares (time inside session.run)",
        text:
          (gpu.computeUtilization === null || gpu.computeUtilization === undefined
            ? '—'
            : percent(gpu.computeUtilization)) + ' compute',
      }),
      h('br'),
      gpu.inFlight + ' in flight · ' + gpu.busyReplicas + ' busy',
    ]),
  ]);
}

/** @param {ClusterView} view @param {Record<string, boolean>} versioned */
export function renderGpus(view, versioned) {
  let maxTotal = 1;
  view.gpus.forEach(function (g) {
    maxTotal = Math.max(maxTotal, g.memoryTotalBytes);
  });
  /** @type {HTMLElement[]} */ const nodes = [];
  /** @type {Record<string, HTMLElement>} */ const byNode = {};
  view.gpus.forEach(function (gpu) {
    if (!byNode[gpu.node]) {
      byNode[gpu.node] = h(
        'div',
        { className: 'node', role: 'group', 'aria-label': 'Node ' + gpu.node, 'data-node': gpu.node },
        [h('h3', { text: 'Node ' + gpu.node })],
      );
      nodes.push(byNode[gpu.node]);
    }
    byNode[gpu.node].appendChild(renderGpu(gpu, maxTotal, versioned));
  });
  if (nodes.length === 0)
    nodes.push(h('p', { className: 'muted', text: 'No GPUs known: no replica has reported its stats yet.' }));
  replaceChildren($('gpus'), nodes);

  const unplaced = view.unplaced || [];
  replaceChildren(
    $('unplaced'),
    unplaced.length === 0
      ? []
      : [
          h('div', { className: 'unplaced' }, [
            h('strong', { text: 'Replicas without stats (not on any bar): ' }),
            h(
              'ul',
              null,
              unplaced.map(function (u) {
                return h('li', {
                  'data-unplaced-id': u.id,
                  text: u.id + ' (' + u.url + ') — ' + u.state + (u.lastError ? ': ' + u.lastError : ''),
                });
              }),
            ),
          ]),
        ],
  );

  /** @type {HTMLElement[]} */ const legend = [];
  coloursSoFar().forEach(function (pair) {
    const sw = h('span', { className: 'swatch' });
    sw.style.backgroundColor = pair[1];
    legend.push(h('span', null, [sw, pair[0]]));
  });
  [
    ['warming', 'warming'],
    ['draining', 'draining'],
    ['failed', 'failed / unreachable'],
    ['other', 'other use'],
    ['reserve', 'reserve'],
    ['headroom', 'headroom'],
  ].forEach(function (pair) {
    legend.push(h('span', null, [h('span', { className: 'swatch ' + pair[0] }), pair[1]]));
  });
  replaceChildren($('legend'), legend);
}
