// @ts-check
// The operator view's script, served as /ui/app.js with the modules beside it (gateway/ui/assets/
// browser-modules.ts). Plain browser JavaScript modules, no framework, no build step: they run as written
// from source (tsx) and from dist/ (the build copies them). Type-checked against the contract's types
// (browser/tsconfig.json: `npm run typecheck`) and linted with the type-aware rules (eslint.config.js):
// JSON from /v1/cluster and /ui/events is `unknown` until isClusterView checks it.
import { renderChanges, diff } from './changes.js';
import { $ } from './dom.js';
import { clock } from './format.js';
import { renderGpus } from './gpus.js';
import { colour } from './labels.js';
import { renderModels } from './models.js';
import { renderPlan } from './plan.js';
import { renderReplicas } from './replicas.js';
import { renderSummary } from './summary.js';
/** @typedef {import('../../../operator/cluster-view.js').ClusterView} ClusterView */

const POLL_MS = 2000; // fallback polling of /v1/cluster
const STALE_MS = 5000; // no update for this long: say so and grey the picture
const SSE_RETRY_MS = 30000; // while polling, try server-sent events again this often

/** @type {ClusterView | null} */ let previous = null;
let previousKey = '';
let lastUpdate = 0;
let updates = 0;
/** @type {EventSource | null} */ let source = null;
/** @type {ReturnType<typeof setTimeout> | null} */ let pollTimer = null;
let pollingSince = 0;
let offlineSince = 0;

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
    /**
     * Model names served in more than one version in this view: their segments name the version.
     * @type {Record<string, boolean>}
     */
    const versioned = {};
    (view.models || []).forEach(function (m) {
      if (versions[m.name] !== undefined && versions[m.name] !== m.version) versioned[m.name] = true;
      versions[m.name] = m.version;
    });
    renderSummary(view);
    renderGpus(view, versioned);
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
