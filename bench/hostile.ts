/**
 * The hostile-input suite's long mode (test/hostile: the CI mode runs a few inputs per generator): the
 * corpus once and `--runs` fast-check inputs per generator against a real replica process and a real
 * gateway process, each input checked as in CI (answer by the rules, process alive, an ordinary request
 * still succeeds). Prints the answers by kind, the slowest answer, both processes' peak RSS and every broken
 * rule (shrunk by fast-check); exits 1 if any. Run it before closing a change to a request path.
 *
 *   npm run bench:hostile -- [--runs 300] [--seed N] [--generators multipart,gRPC messages]
 */
import { parseArgs } from 'node:util';
import { processPeakRssBytes } from '../test/helpers/replica-process.js';
import { emptyReport, GENERATORS, runCorpus, runGenerator } from '../test/hostile/run.js';
import { startTargets } from '../test/hostile/targets.js';

const { values: flags } = parseArgs({
  options: {
    runs: { type: 'string', default: '300' },
    seed: { type: 'string' },
    generators: { type: 'string', default: GENERATORS.join(',') },
  },
});
const runs = Number(flags.runs);
const seed = flags.seed === undefined ? undefined : Number(flags.seed);

const targets = await startTargets();
// stopped early (Ctrl-C, a timeout): the replica and gateway processes go too
for (const signal of ['SIGINT', 'SIGTERM'] as const)
  process.once(signal, () => void targets.close().finally(() => process.exit(130)));
const report = emptyReport();
const t0 = performance.now();
try {
  await runCorpus(targets, report);
  for (const name of flags.generators.split(',')) {
    const before = report.failures.length;
    try {
      await runGenerator(name, targets, report, { runs, ...(seed === undefined ? {} : { seed }) });
    } catch (err) {
      // fast-check's report: the seed and the shrunk input that broke a rule
      report.failures.push(`${name}: ${(err as Error).message.split('\n').slice(0, 4).join(' | ')}`);
    }
    console.error(`${name}: ${runs} inputs, ${report.failures.length - before} failure(s)`);
  }
} finally {
  const peaks = await Promise.all(targets.targets.map((t) => processPeakRssBytes(t.process.pid!)));
  await targets.close();
  const mib = (b: number | null) => (b === null ? null : Math.round(b / 2 ** 20));
  console.log(
    JSON.stringify(
      {
        inputs: report.inputs,
        seconds: Math.round((performance.now() - t0) / 1000),
        answers: report.answers,
        worstMs: Math.round(report.worstMs),
        worst: report.worstWhat,
        peakRssMiB: Object.fromEntries(targets.targets.map((t, i) => [t.name, mib(peaks[i] ?? null)])),
        failures: report.failures,
      },
      null,
      2,
    ),
  );
}
process.exit(report.failures.length === 0 ? 0 : 1);
