// @ts-check
// The scheduler's plan: its actions, which models fill which GPU, what could not be placed.
import { $, h, replaceChildren } from './dom.js';
import { clock, percent } from './format.js';
/** @typedef {import('../../../operator/cluster-view.js').ClusterView} ClusterView */

/** @param {ClusterView} view */
export function renderPlan(view) {
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
    // A replica that keeps dying: its own last error first, and what to do when the cause is ours to fix.
    (plan.failures || []).forEach(function (f) {
      out.push(
        h('div', { className: 'plan-failure', 'data-replica': f.replica }, [
          h('strong', {
            text:
              f.model + ' on ' + f.gpu + ': failed ' + f.restarts + (f.restarts === 1 ? ' time' : ' times'),
          }),
          ' — ' + f.message,
          f.hint ? h('p', { className: 'plan-hint', text: 'What to do: ' + f.hint }) : null,
        ]),
      );
    });
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
