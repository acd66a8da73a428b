// @ts-check
// Names, states and colours shared by the operator view's panels.
/** @typedef {import('../../../operator/cluster-view.js').ClusterView} ClusterView */
/** @typedef {import('../../../operator/cluster-view.js').GpuView} GpuView */
/** @typedef {import('../../../operator/cluster-view.js').ReplicaView} ReplicaView */

const PALETTE = ['#1f5fae', '#2e7d32', '#8e24aa', '#a34f00', '#00796b', '#c2185b', '#5d4037', '#455a64'];
/** @type {Record<string, string>} */
const modelColours = {};

/** loading and warming read as "warming"; unreachable as "failed" (it serves nothing either way). */
/** @param {ReplicaView['state']} state @returns {string} */
export function shownState(state) {
  if (state === 'loading' || state === 'warming') return 'warming';
  if (state === 'unreachable') return 'failed';
  return state;
}

/** @param {ReplicaView} r */
export function stateLabel(r) {
  const label = r.state === 'unreachable' ? 'unreachable' : shownState(r.state);
  return r.ejected ? label + ', ejected' : label;
}

/** Colours by model, stable while the page is open: models get palette entries in order of appearance. */
/** @param {string} model */
export function colour(model) {
  if (!(model in modelColours)) {
    const used = Object.keys(modelColours).length;
    modelColours[model] = PALETTE[used % PALETTE.length];
  }
  return modelColours[model];
}

/** The colours handed out so far, in order (the legend). @returns {[string, string][]} */
export function coloursSoFar() {
  return Object.keys(modelColours).map(function (model) {
    return [model, modelColours[model]];
  });
}

/** @param {GpuView} gpu */
export function gpuLabel(gpu) {
  return gpu.index === null || gpu.index === undefined ? gpu.id : 'GPU ' + gpu.index;
}

/** @param {GpuView} gpu */
export function gpuPlace(gpu) {
  return gpu.node + ' / ' + gpuLabel(gpu);
}
