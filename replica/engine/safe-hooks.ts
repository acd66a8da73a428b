import type { Logger } from '../../common/log.js';
import type { EngineHooks } from './types.js';

/**
 * The caller's hooks (metrics, the server's fatal handler), each made safe to call from inside a batch: a
 * hook that throws is logged and never breaks the batch or the engine. Absent hooks become no-ops.
 */
export function safeHooks(hooks: EngineHooks, log: Logger): Required<EngineHooks> {
  const safe =
    <A>(call: (arg: A) => void) =>
    (arg: A): void => {
      try {
        call(arg);
      } catch (err) {
        log.warn('engine hook threw', { err });
      }
    };
  return {
    onBatch: safe((info) => hooks.onBatch?.(info)),
    onQueueDepth: safe((depth) => hooks.onQueueDepth?.(depth)),
    onFrame: safe((info) => hooks.onFrame?.(info)),
    onOutput: safe((info) => hooks.onOutput?.(info)),
    onFatal: safe((info) => hooks.onFatal?.(info)),
  };
}
