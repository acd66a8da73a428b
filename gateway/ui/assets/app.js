// @ts-check
// The operator view's script, served as /ui/app.js. Plain browser JavaScript, no framework, no build step:
// it runs as written from source (tsx) and from dist/ (the build copies it). Type-checked against the
// contract's types (gateway/ui/assets/tsconfig.json: `npm run typecheck`) and linted with the type-aware
// rules (eslint.config.js): JSON from /v1/cluster and /ui/events is `unknown` until isClusterView checks it.
// It never parses markup from strings: every value from the cluster goes in as text.
/** @typedef {import('../../operator/cluster-view.js').ClusterView} ClusterView */
/** @typedef {import('../../operator/cluster-view.js').GpuView} GpuView */
/** @typedef {import('../../operator/cluster-view.js').ReplicaView} ReplicaView */
/** @typedef {string | number | boolean | null | undefined} AttrValue */
/** @typedef {Node | string | null | undefined} Child */
(function () {
  'use strict';

  const PALETTE = ['#1f5fae', '#2e7d32', '#8e24aa', '#a34f00', '#00796b', '#c2185b', '#5d4037', '#455a64'];
  const SEED_UTILIZATION = 0.4; // the seed: one 9.6 GB replica per 24 GB RTX 4090
  const POLL_MS = 2000; // fallback polling of /v1/cluster
  const STALE_MS = 5000; // no update for this long: say so and grey the picture
  const SSE_RETRY_MS = 30000; // while polling, try server-sent events again this often

  /** @type {Record<string, string>} */
  const modelColours = {};
  /**
   * Model names served in more than one version in the latest view: their segments name the version.
   * @type {Record<string, boolean>}
   */
  let versioned = {};
  /** @type {ClusterView | null} */ let previous = null;
  let previousKey = '';
  let lastUpdate = 0;
  let updates = 0;
  /** @type {EventSource | null} */ let source = null;
  /** @type {ReturnType<typeof setTimeout> | null} */ let pollTimer = null;
  let pollingSince = 0;
  let offlineSince = 0;
  /** @type {{ at: Date; text: string }[]} */ let changes = [];

  /** The page's elements exist from its shell (page-html.ts) on. @param {string} id @returns {HTMLElement} */
  function $(id) {
    return /** @type {HTMLElement} */ (document.getElementById(id));
  }

  /**
   * An element with attributes (`text` its text, `className` its class; null, undefined and false left out)
   * and children (strings as text).
   * @param {string} tag
   * @param {Record<string, AttrValue> | null} [attrs]
   * @param {Child[]} [children]
   * @returns {HTMLElement}
   */
  function h(tag, attrs, children) {
    const node = document.createElement(tag);
    if (attrs) {
      Object.keys(attrs).forEach(function (key) {
        const value = attrs[key];
        if (value === undefined || value === null || value === false) return;
        if (key === 'text') node.textContent = String(value);
        else if (key === 'className') node.className = String(value);
        else node.setAttribute(key, String(value));
      });
    }
    (children || []).forEach(function (child) {
      if (child === null || child === undefined) return;
      node.appendChild(typeof child === 'string' ? document.createTextNode(child) : child);
    });
    return node;
  }

  /** @param {Node} parent @param {(Node | null | undefined)[]} children */
  function replaceChildren(parent, children) {
    while (parent.firstChild) parent.removeChild(parent.firstChild);
    children.forEach(function (child) {
      if (child) parent.appendChild(child);
    });
  }

  // formatBytes is common/bytes.ts's, prepended by the server (gateway/ui/assets/app-script.ts).
  const bytes = formatBytes;
  /** "17.6 / 40.0 GiB" when both are GiB, else each with its own unit. */
  /** @param {number} used @param {number} total */
  function usedOfTotal(used, total) {
    const GiB = 1073741824;
    if (used >= GiB && total >= GiB) return (used / GiB).toFixed(1) + ' / ' + bytes(total);
    return bytes(used) + ' / ' + bytes(total);
  }
  /** @param {number} ratio */
  function percent(ratio) {
    return (ratio * 100).toFixed(1) + ' %';
  }
  /** @param {number} perSecond */
  function rate(perSecond) {
    return perSecond < 10 ? perSecond.toFixed(2) : perSecond.toFixed(1);
  }
  /** @param {number | null | undefined} s */
  function seconds(s) {
    if (s === null || s === undefined || s === 0) return '—'; // 0: nothing measured yet
    if (s < 0.01) return (s * 1000).toFixed(1) + ' ms';
    return s < 1 ? Math.round(s * 1000) + ' ms' : s.toFixed(2) + ' s';
  }
  /** @param {Date} date */
  function clock(date) {
    return date.toTimeString().slice(0, 8);
  }

  /** loading and warming read as "warming"; unreachable as "failed" (it serves nothing either way). */
  /** @param {ReplicaView['state']} state @returns {string} */
  function shownState(state) {
    if (state === 'loading' || state === 'warming') return 'warming';
    if (state === 'unreachable') return 'failed';
    return state;
  }
  /** @param {ReplicaView} r */
  function stateLabel(r) {
    const label = r.state === 'unreachable' ? 'unreachable' : shownState(r.state);
    return r.ejected ? label + ', ejected' : label;
  }

  /** Colours by model, stable while the page is open: models get palette entries in order of appearance. */
  /** @param {string} model */
  function colour(model) {
    if (!(model in modelColours)) {
      const used = Object.keys(modelColours).length;
      modelColours[model] = PALETTE[used % PALETTE.length];
    }
    return modelColours[model];
  }

  /** @param {GpuView} gpu */
  function gpuLabel(gpu) {
    return gpu.index === null || gpu.index === undefined ? gpu.id : 'GPU ' + gpu.index;
  }
  /** @param {GpuView} gpu */
  function gpuPlace(gpu) {
    return gpu.node + ' / ' + gpuLabel(gpu);
  }

  /**
   * The seed's setup on these GPUs (one replica per GPU, from the scheduler's plan) when known — a fair
   * comparison on virtual or smaller GPUs — else the seed's measured 40 % on 24 GB RTX 4090s.
   */
  /** @param {ClusterView} view */
  function seedBaseline(view) {
    const planned =
      view.plan && typeof view.plan.seedMemoryUtilization === 'number'
        ? view.plan.seedMemoryUtilization
        : null;
    return planned === null
      ? { ratio: SEED_UTILIZATION, source: 'seed', label: 'Seed: 40 % (one replica per 24 GB GPU)' }
      : {
          ratio: planned,
          source: 'plan',
          label: "The seed's setup on these GPUs (one replica per GPU): " + percent(planned),
        };
  }

  /** @param {ClusterView} view */
  function renderSummary(view) {
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
      t.computeUtilization === null || t.computeUtilization === undefined
        ? '—'
        : percent(t.computeUtilization);
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
              " for the seed's setup",
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

  /** @param {GpuView} gpu @param {number} maxTotal */
  function renderGpu(gpu, maxTotal) {
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

  /** @param {ClusterView} view */
  function renderGpus(view) {
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
      byNode[gpu.node].appendChild(renderGpu(gpu, maxTotal));
    });
    if (nodes.length === 0)
      nodes.push(
        h('p', { className: 'muted', text: 'No GPUs known: no replica has reported its stats yet.' }),
      );
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
    Object.keys(modelColours).forEach(function (model) {
      const sw = h('span', { className: 'swatch' });
      sw.style.backgroundColor = modelColours[model];
      legend.push(h('span', null, [sw, model]));
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

  /** @param {ClusterView} view */
  function renderModels(view) {
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

  /** @param {ClusterView} view */
  function renderPlan(view) {
    const plan = view.plan;
    /** @type {HTMLElement[]} */ const out = [];
    if (!plan) {
      out.push(
        h('p', { className: 'muted', text: 'No plan source: this gateway was started without a scheduler.' }),
      );
    } else {
      out.push(
        h('p', {
          className: 'plan-meta',
          text:
            'Policy ' +
            plan.policy +
            ' · after the plan: ' +
            percent(plan.memoryUtilization) +
            ' memory utilisation · planned ' +
            clock(new Date(plan.generatedAt)),
        }),
      );
      if (plan.actions.length === 0) {
        out.push(
          h('p', { id: 'plan-empty', text: 'Nothing to do: the placement is what the scheduler wants.' }),
        );
      } else {
        out.push(
          h(
            'ol',
            { className: 'actions', id: 'plan-actions' },
            plan.actions.map(function (a) {
              const where = a.node + ' / GPU ' + a.gpuIndex;
              const what =
                a.type === 'create'
                  ? 'add a ' + a.model + ' replica on ' + where
                  : a.type === 'move'
                    ? 'move ' + (a.replicaId || 'a ' + a.model + ' replica') + ' to ' + where
                    : a.type + ' ' + (a.replicaId || 'a ' + a.model + ' replica') + ' on ' + where;
              return h('li', { 'data-action': a.type }, [
                h('span', { className: 'action-type', text: a.type }),
                ' ' + what + (a.reason ? ' — ' + a.reason : ''),
              ]);
            }),
          ),
        );
      }
    }
    if (plan) {
      // Which models fill which GPU, and why a model is not (fully) placed.
      const fills = (plan.gpus || []).filter(function (g) {
        return (g.models && g.models.length > 0) || g.reservedFor;
      });
      if (fills.length > 0) {
        out.push(
          h(
            'ul',
            { className: 'plan-gpus', id: 'plan-gpus' },
            fills.map(function (g) {
              const models =
                (g.models || [])
                  .map(function (m) {
                    return m.model + ' ×' + m.replicas;
                  })
                  .join(', ') || 'nothing';
              const compute =
                typeof g.utilization === 'number' ? ' · ' + percent(g.utilization) + ' compute' : '';
              return h('li', { 'data-gpu': g.node + '/' + g.index }, [
                g.node +
                  ' / GPU ' +
                  g.index +
                  ': ' +
                  models +
                  compute +
                  (g.reservedFor ? ' · kept free for ' + g.reservedFor : ''),
              ]);
            }),
          ),
        );
      }
      (plan.unplaced || []).forEach(function (u) {
        out.push(
          h('div', { className: 'plan-unplaced', 'data-model': u.model }, [
            h('strong', { text: u.model + ': ' + u.count + ' not placed' }),
            ' — ' + u.reason,
            u.gpus.length
              ? h(
                  'ul',
                  null,
                  u.gpus.map(function (g) {
                    return h('li', { text: g.gpu + ': ' + g.reason });
                  }),
                )
              : null,
          ]),
        );
      });
    }
    replaceChildren($('plan'), out);
  }

  /** @param {ClusterView} view */
  function renderReplicas(view) {
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
                stateLabel(r) +
                (r.consecutiveFailures > 0 ? ' (' + r.consecutiveFailures + ' failures)' : ''),
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

  /** What changed since the last picture, in words: so a replica or GPU that vanishes is still named. */
  /** @param {ClusterView} before @param {ClusterView} after @returns {string[]} */
  function diff(before, after) {
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
        if (!replicas[u.id])
          replicas[u.id] = { r: { id: u.id, model: '?', state: u.state }, place: 'no GPU' };
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
  function renderChanges(lines) {
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

  /** @param {ClusterView} view @param {'live' | 'polling'} mode */
  function accept(view, mode) {
    lastUpdate = Date.now();
    offlineSince = 0;
    updates += 1;
    document.body.setAttribute('data-updates', String(updates));
    document.body.setAttribute('data-generated-at', view.generatedAt);
    $('main').classList.remove('stale');
    $('main').setAttribute('aria-busy', 'false');
    setMode(mode);
    $('updated').textContent = '· updated ' + clock(new Date(view.generatedAt));
    const key = JSON.stringify(Object.assign({}, view, { generatedAt: '' }));
    if (key === previousKey) return; // nothing changed: leave the DOM (and the reader's place) alone
    previousKey = key;
    const started = performance.now();
    try {
      // colours first, in a stable order, so a new model never recolours the old ones
      (view.models || [])
        .map(function (m) {
          return m.name;
        })
        .sort()
        .forEach(colour);
      /** @type {Record<string, string>} */ const versions = {};
      versioned = {};
      (view.models || []).forEach(function (m) {
        if (versions[m.name] !== undefined && versions[m.name] !== m.version) versioned[m.name] = true;
        versions[m.name] = m.version;
      });
      renderSummary(view);
      renderGpus(view);
      renderModels(view);
      renderPlan(view);
      renderReplicas(view);
      if (previous) {
        const lines = diff(previous, view);
        if (lines.length) renderChanges(lines);
      }
      previous = view;
      // visible in devtools' performance panel; the docs quote it for a large cluster
      performance.measure('gpumux-render', { start: started });
    } catch (error) {
      setMode('offline', 'Could not draw the cluster view: ' + messageOf(error));
    }
  }

  /** @param {unknown} error @returns {string} */
  function messageOf(error) {
    return error instanceof Error ? error.message : typeof error === 'string' ? error : 'unknown error';
  }

  /** JSON text → a value still to be checked. @param {string} text @returns {unknown} */
  function parseJson(text) {
    return JSON.parse(text);
  }

  /** Enough of the contract's shape to draw from (gateway/operator/cluster-view.ts). @param {unknown} value @returns {value is ClusterView} */
  function isClusterView(value) {
    return (
      typeof value === 'object' &&
      value !== null &&
      'totals' in value &&
      'gpus' in value &&
      Array.isArray(value.gpus) &&
      'models' in value &&
      Array.isArray(value.models)
    );
  }

  /** @param {unknown} value @returns {ClusterView} */
  function clusterViewOf(value) {
    if (!isClusterView(value)) throw new Error('not a cluster view');
    return value;
  }

  /** @param {'live' | 'polling' | 'offline'} mode @param {string} [text] */
  function setMode(mode, text) {
    const p = $('connection');
    const label =
      text ||
      (mode === 'live'
        ? 'Live (server-sent events)'
        : mode === 'polling'
          ? 'Polling /v1/cluster every 2 s'
          : 'Disconnected');
    if (p.getAttribute('data-mode') !== mode || $('connection-mode').textContent !== label) {
      p.setAttribute('data-mode', mode);
      $('connection-mode').textContent = label;
    }
  }

  function startSse() {
    if (!window.EventSource) {
      startPolling();
      return;
    }
    stopPolling();
    source = new EventSource('/ui/events');
    source.addEventListener('cluster', function (/** @type {MessageEvent<string>} */ event) {
      try {
        accept(clusterViewOf(parseJson(event.data)), 'live');
      } catch (error) {
        setMode('offline', 'Bad event: ' + messageOf(error));
      }
    });
    source.addEventListener('problem', function (/** @type {MessageEvent<string>} */ event) {
      let message = 'unknown';
      try {
        // The gateway's `problem` event (gateway/ui/events.ts): `{ message }`.
        const problem = parseJson(event.data);
        if (typeof problem === 'object' && problem !== null && 'message' in problem)
          message = typeof problem.message === 'string' ? problem.message : message;
      } catch {
        /* keep "unknown" */
      }
      setMode('offline', 'The gateway could not build the view: ' + message);
    });
    source.onerror = function () {
      // EventSource would retry on its own; polling gets a picture through proxies that break streams
      if (source) source.close();
      source = null;
      startPolling();
    };
  }

  function stopPolling() {
    if (pollTimer) clearTimeout(pollTimer);
    pollTimer = null;
  }

  function startPolling() {
    stopPolling();
    pollingSince = Date.now();
    poll();
  }

  function poll() {
    fetch('/v1/cluster', { headers: { accept: 'application/json' }, cache: 'no-store' })
      .then(function (response) {
        if (!response.ok) throw new Error('HTTP ' + response.status);
        return response.json();
      })
      .then(function (/** @type {unknown} */ body) {
        accept(clusterViewOf(body), 'polling');
        if (Date.now() - pollingSince >= SSE_RETRY_MS) {
          startSse();
          return;
        }
        pollTimer = setTimeout(poll, POLL_MS);
      })
      .catch(function (error) {
        if (!offlineSince) offlineSince = Date.now();
        setMode(
          'offline',
          'Gateway unreachable since ' +
            clock(new Date(offlineSince)) +
            ' (' +
            messageOf(error) +
            ') — showing the last picture',
        );
        pollTimer = setTimeout(poll, POLL_MS);
      });
  }

  setInterval(function () {
    if (lastUpdate && Date.now() - lastUpdate > STALE_MS) {
      $('main').classList.add('stale');
      $('updated').textContent = '· last update ' + Math.round((Date.now() - lastUpdate) / 1000) + ' s ago';
    }
  }, 1000);

  startSse();
})();
