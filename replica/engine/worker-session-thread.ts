import os from 'node:os';
import { parentPort } from 'node:worker_threads';
import ort from 'onnxruntime-node';
import { thrownText } from '../../common/errors.js';
import type { Logger } from '../../common/log.js';
import { runNamed, valueInfoOf } from './model-session.js';
import { loadSession } from './load-session.js';
import { toWire, transferables, type FromWorker, type ToWorker } from './worker-session-protocol.js';

/**
 * The session worker: owns the engine's one InferenceSession, so that `session.run()` blocks this thread and
 * not the replica's event loop. Loads on `load`, runs one batch per `run`, releases on `release`; input and
 * output buffers move by transfer. Started by worker-session-client.ts.
 */

const port = parentPort!;
let session: ort.InferenceSession | null = null;

/**
 * Nice this thread a little (Linux: setpriority on the calling thread), so the event loop — probes, stats,
 * HTTP, decode — wins the CPU when both want it; the model gets the rest. On a GPU this thread mostly waits.
 */
const SESSION_THREAD_NICE = Number(process.env.GPUMUX_SESSION_NICE ?? 5);
try {
  os.setPriority(Math.min(19, os.getPriority() + SESSION_THREAD_NICE));
} catch {
  // not permitted or not supported: run at the process's priority
}

const send = (message: FromWorker, transfer: ArrayBuffer[] = []) => {
  try {
    port.postMessage(message, transfer);
  } catch {
    port.postMessage(message); // an untransferable buffer (external memory): copied instead
  }
};

const logger = {
  warn: (msg: string, fields: Record<string, unknown> = {}) =>
    send({ op: 'log', level: 'warn', msg, fields: { ...fields, err: fields.err && thrownText(fields.err) } }),
  info: (msg: string, fields: Record<string, unknown> = {}) =>
    send({ op: 'log', level: 'info', msg, fields }),
} as unknown as Logger; // loadSession only warns

port.on('message', (message: ToWorker) => {
  void handle(message);
});

async function handle(message: ToWorker): Promise<void> {
  switch (message.op) {
    case 'load': {
      try {
        const loaded = await loadSession({ ...message.options, logger });
        session = loaded.session;
        send({
          op: 'loaded',
          inputNames: [...session.inputNames],
          outputNames: [...session.outputNames],
          inputMetadata: valueInfoOf(session.inputMetadata),
          outputMetadata: valueInfoOf(session.outputMetadata),
          device: loaded.device,
          fellBack: loaded.fellBack,
        });
      } catch (err) {
        send({ op: 'load-failed', error: toWire(err) });
      }
      return;
    }
    case 'run': {
      try {
        if (!session) throw new Error('the session is not loaded');
        const outputs = await runNamed(session, message.feeds, ort.Tensor);
        send({ op: 'ran', id: message.id, outputs }, transferables(outputs));
      } catch (err) {
        send({ op: 'run-failed', id: message.id, error: toWire(err) });
      }
      return;
    }
    case 'release': {
      const s = session;
      session = null;
      await s?.release();
      send({ op: 'released' });
      port.close();
      return;
    }
  }
}
