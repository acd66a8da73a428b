import fc from 'fast-check';
import { corpus, grpcCorpus } from './corpus.js';
import { generators } from './generators.js';
import type { HostileInput } from './probe.js';
import { attack, type Target, type Targets } from './targets.js';

/** What a run of the suite saw: answers by kind, the slowest answer, and every broken rule. */
export interface HostileReport {
  inputs: number;
  answers: Record<string, number>;
  worstMs: number;
  worstWhat: string;
  failures: string[];
}

export function emptyReport(): HostileReport {
  return { inputs: 0, answers: {}, worstMs: 0, worstWhat: '', failures: [] };
}

async function one(
  report: HostileReport,
  target: Target,
  input: HostileInput,
  jpeg: Buffer,
): Promise<string | null> {
  const outcome = await attack(target, input, jpeg);
  report.inputs++;
  const key = `${target.name} ${outcome.answer}`;
  report.answers[key] = (report.answers[key] ?? 0) + 1;
  if (outcome.ms > report.worstMs) {
    report.worstMs = outcome.ms;
    report.worstWhat = `${target.name}: ${input.what}`;
  }
  if (outcome.failure) report.failures.push(outcome.failure);
  return outcome.failure;
}

/** Every corpus input against every target. */
export async function runCorpus({ targets, jpeg }: Targets, report: HostileReport): Promise<void> {
  for (const input of [...corpus(jpeg), ...grpcCorpus()])
    for (const target of targets) await one(report, target, input, jpeg);
}

/**
 * `runs` inputs from the named generator against every target, as a fast-check property: a broken rule
 * fails it, and fast-check shrinks the input to a small one that still breaks it (in the thrown error).
 */
export async function runGenerator(
  name: string,
  { targets, jpeg }: Targets,
  report: HostileReport,
  { runs, seed }: { runs: number; seed?: number },
): Promise<void> {
  const arbitrary = generators(jpeg)[name];
  if (!arbitrary) throw new Error(`no generator "${name}"`);
  await fc.assert(
    fc.asyncProperty(arbitrary, async (input) => {
      for (const target of targets) {
        const failure = await one(report, target, input, jpeg);
        if (failure) throw new Error(failure);
      }
    }),
    { numRuns: runs, ...(seed === undefined ? {} : { seed }), endOnFailure: runs > 200 },
  );
}

export const GENERATORS = Object.keys(generators(Buffer.alloc(8)));
