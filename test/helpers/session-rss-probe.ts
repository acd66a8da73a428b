/**
 * Run as a child process (`node --import tsx session-rss-probe.ts MODEL_DIR`): opens the model folder's session
 * the way a replica does — manifest → session request → loadSession on the CPU, one thread, in this thread —
 * and prints one JSON line with the process's RSS before and after creating it. A fresh process per
 * measurement, so one session's memory cannot hide behind another's freed pages.
 */
import { resolveEngineConfig } from '../../replica/engine/engine-config.js';
import { loadSession } from '../../replica/engine/load-session.js';
import { sessionRequest } from '../../replica/engine/open-session.js';

const modelDir = process.argv[2];
if (!modelDir) throw new Error('usage: session-rss-probe.ts MODEL_DIR');
const options = { modelDir, device: 'cpu', node: 'local', replicaId: 'rss-probe', threads: 1 };
const request = sessionRequest(resolveEngineConfig(options, {}), options);
const beforeBytes = process.memoryUsage.rss();
const { session } = await loadSession(request);
const afterBytes = process.memoryUsage.rss();
await session.release();
console.log(JSON.stringify({ beforeBytes, afterBytes, disabledOptimizers: request.disabledOptimizers }));
