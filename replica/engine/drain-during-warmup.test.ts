import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { engineFactory } from './create-engine.js';
import { loadSession } from './session.js';

/**
 * A drain (SIGTERM) while a warm-up step runs: the engine waits for that step, never releases the session
 * under a run, and the warm-up logs where it stopped. A real onnxruntime session whose runs are held at a
 * gate, so the step is provably still running when the drain and close() arrive.
 */
const MODEL = path.resolve('models/shapes');

afterEach(() => vi.restoreAllMocks());

function gatedEngine() {
  const events: string[] = [];
  let open: () => void = () => undefined;
  const gate = new Promise<void>((resolve) => (open = resolve));
  let runStarted: () => void = () => undefined;
  const firstRun = new Promise<void>((resolve) => (runStarted = resolve));
  const engine = engineFactory({
    loadSession: async (options) => {
      const loaded = await loadSession(options);
      const { session } = loaded;
      const run = session.run.bind(session);
      const release = session.release.bind(session);
      session.run = (async (...args: Parameters<typeof run>) => {
        events.push('run started');
        runStarted();
        await gate;
        const out = await run(...args);
        events.push('run ended');
        return out;
      }) as typeof session.run;
      session.release = async () => {
        events.push('released');
        await release();
      };
      return loaded;
    },
  })({ modelDir: MODEL, device: 'cpu', node: 'local', replicaId: 'drain', threads: 1, warmupBatches: 'all' });
  return { engine, events, open, firstRun };
}

function engineLog(): string[] {
  const lines: string[] = [];
  const write = process.stderr.write.bind(process.stderr);
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk, ...rest) => {
    const text = String(chunk);
    for (const line of text.split('\n')) if (line.startsWith('{')) lines.push(line);
    return write(chunk, ...(rest as []));
  });
  return lines;
}

describe('drain during warm-up (real onnxruntime session)', () => {
  it('waits for the running step, then stops; the session is released only after the run', async () => {
    const lines = engineLog();
    const { engine, events, open, firstRun } = gatedEngine();
    const started = engine.start();
    await firstRun;
    expect(engine.state).toBe('warming');

    // what the replica's SIGTERM does: drain, then close
    let closed = false;
    const stopping = engine
      .drain()
      .then(() => engine.close())
      .then(() => (closed = true));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(closed, 'close() finished while a warm-up step was still running').toBe(false);
    expect(events).toEqual(['run started']);

    open();
    await stopping;
    await started;
    expect(events).toEqual(['run started', 'run ended', 'released']);
    expect(engine.state).toBe('draining');
    const msgs = lines.map((l) => (JSON.parse(l) as { msg: string }).msg);
    expect(msgs).toContain('warm-up stopped before its end (draining)');
    expect(msgs).not.toContain('warm-up done');
    expect(engine.stats().warmup).toMatchObject({ done: 1, finished: false });
  });

  it('a drain while the model loads ends the start there: no warm-up, the session released', async () => {
    const lines = engineLog();
    const events: string[] = [];
    const engine = engineFactory({
      loadSession: async (options) => {
        await new Promise((resolve) => setTimeout(resolve, 100)); // a load that takes time
        const loaded = await loadSession(options);
        const release = loaded.session.release.bind(loaded.session);
        loaded.session.release = async () => (events.push('released'), release());
        return loaded;
      },
    })({ modelDir: MODEL, device: 'cpu', node: 'local', replicaId: 'drain-load', threads: 1 });
    const started = engine.start();
    await engine.drain();
    await started;
    expect(engine.state).toBe('draining');
    const msgs = lines.map((l) => (JSON.parse(l) as { msg: string }).msg);
    expect(msgs).not.toContain('warm-up started');
    expect(msgs).toContain('engine start ended by a drain during load');
    await engine.close();
    expect(events).toEqual(['released']);
  });
});
