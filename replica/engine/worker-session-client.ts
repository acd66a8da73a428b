import { Worker } from 'node:worker_threads';
import type { Logger } from '../../common/log.js';
import type { ModelSession, NamedTensor } from './model-session.js';
import {
  fromWire,
  transferables,
  type FromWorker,
  type ToWorker,
  type WorkerLoadOptions,
} from './worker-session-protocol.js';

/**
 * The main-thread side of the session worker (worker-session-thread.ts): a ModelSession whose `run()` posts the
 * feeds to the worker (buffers transferred, not copied) and resolves when the outputs come back, so the event
 * loop keeps serving HTTP, probes and decodes while the model runs.
 *
 * A worker that dies (a native crash inside the worker, an uncaught error, `terminate()`) rejects the run in
 * flight and calls `onExit` once: the engine turns `failed` and the process exits (replica/server.ts).
 *
 * @example
 * const session = await openWorkerSession({ onnxPath, device: { kind: 'cpu' }, allowCpuFallback: false }, { onExit });
 * const outputs = await session.run([{ name: 'images', type: 'uint8', dims: [1, 480, 640, 3], data }]);
 */
export interface WorkerSession extends ModelSession {
  /** The thread itself (tests end it to stand for a crash). */
  readonly worker: Worker;
}

export interface WorkerSessionHooks {
  /** The worker ended while the session was open (not after `release()`). */
  onExit?: (error: Error) => void;
  logger?: Logger;
}

/** Under tsx (tests, `npm run bench`, the CLI from source) the worker is TypeScript and needs tsx's loader too. */
function startWorker(): Worker {
  const here = import.meta.url;
  if (here.endsWith('.ts')) {
    const entry = new URL('./worker-session-thread.ts', here).href;
    const tsx = import.meta.resolve('tsx/esm/api');
    const boot = `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(entry)}); })`;
    return new Worker(boot, { eval: true });
  }
  return new Worker(new URL('./worker-session-thread.js', here));
}

export function openWorkerSession(
  options: WorkerLoadOptions,
  hooks: WorkerSessionHooks = {},
): Promise<WorkerSession> {
  const worker = startWorker();
  const link = createWorkerLink(worker, hooks);
  return new Promise<WorkerSession>((resolve, reject) => {
    link.awaitLoad({ resolve, reject });
    worker.on('message', link.onMessage);
    link.post({ op: 'load', options });
  });
}

interface Settle<T> {
  resolve: (value: T) => void;
  reject: (error: Error) => void;
}

/**
 * The session's state over one worker: runs pending by id, load and release waiting for their answer, and
 * death. One closure because every message and every method reads and changes that same state.
 */
function createWorkerLink(worker: Worker, { onExit, logger }: WorkerSessionHooks) {
  const runs = createPendingRuns(worker);
  let released = false;
  let died: Error | null = null;
  let settleLoad: Settle<WorkerSession> | undefined;
  let settleRelease: (() => void) | undefined;

  const post = (message: ToWorker, transfer: ArrayBuffer[] = []) => {
    try {
      worker.postMessage(message, transfer);
    } catch {
      worker.postMessage(message); // an untransferable buffer (e.g. external memory): copied instead
    }
  };

  const die = (error: Error) => {
    if (died || released) return;
    died = error;
    settleLoad?.reject(error);
    settleLoad = undefined;
    runs.rejectAll(error);
    onExit?.(error);
  };
  worker.on('error', (err) => die(new Error(`the session worker failed: ${err.message}`, { cause: err })));
  worker.on('exit', (code) => {
    settleRelease?.();
    die(new Error(`the session worker exited (code ${code})`));
  });

  const run = (feeds: NamedTensor[]): Promise<NamedTensor[]> => {
    if (died) return Promise.reject(died);
    if (released) return Promise.reject(new Error('the session was released'));
    return new Promise<NamedTensor[]>((resolve, reject) => {
      const id = runs.add({ resolve, reject });
      post({ op: 'run', id, feeds }, transferables(feeds));
    });
  };

  const release = (): Promise<void> => {
    if (released || died) return Promise.resolve();
    released = true;
    return new Promise<void>((resolve) => {
      settleRelease = resolve;
      worker.ref();
      post({ op: 'release' });
    });
  };

  const settleLoadWith = (outcome: { session: WorkerSession } | { error: Error }) => {
    if ('session' in outcome) settleLoad?.resolve(outcome.session);
    else settleLoad?.reject(outcome.error);
    settleLoad = undefined;
  };

  const onMessage = (message: FromWorker): void => {
    switch (message.op) {
      case 'loaded': {
        const { op: _op, ...info } = message;
        worker.unref();
        return settleLoadWith({ session: { ...info, worker, run, release } });
      }
      case 'load-failed':
        released = true; // nothing to run: the worker is ended on purpose, not a death
        settleLoadWith({ error: fromWire(message.error) });
        void worker.terminate();
        return;
      case 'ran':
        return runs.settle(message.id, { outputs: message.outputs });
      case 'run-failed':
        return runs.settle(message.id, { error: fromWire(message.error) });
      case 'log':
        logger?.[message.level](message.msg, message.fields);
        return;
      case 'released':
        settleRelease?.();
        settleRelease = undefined;
        return;
    }
  };

  return { post, onMessage, awaitLoad: (settle: Settle<WorkerSession>) => (settleLoad = settle) };
}

/** Runs posted and not answered yet, by id. A run in flight keeps the process alive, an idle worker does not. */
function createPendingRuns(worker: Worker) {
  const pending = new Map<number, Settle<NamedTensor[]>>();
  let nextId = 1;
  return {
    add(settle: Settle<NamedTensor[]>): number {
      const id = nextId++;
      pending.set(id, settle);
      worker.ref();
      return id;
    },
    settle(id: number, outcome: { outputs: NamedTensor[] } | { error: Error }): void {
      const waiting = pending.get(id);
      if ('outputs' in outcome) waiting?.resolve(outcome.outputs);
      else waiting?.reject(outcome.error);
      pending.delete(id);
      if (pending.size === 0) worker.unref();
    },
    rejectAll(error: Error): void {
      for (const p of pending.values()) p.reject(error);
      pending.clear();
    },
  };
}
