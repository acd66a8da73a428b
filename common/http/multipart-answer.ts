import { sharedFrameFailure } from '../back-pressure.js';
import { toGpumuxError, v1ErrorBody } from '../errors.js';

/** The answer to a multi-frame detect: one entry per frame, in the request's order, a frame's error in its slot. */
export interface FramesAnswer<T> {
  results: (T | ReturnType<typeof v1ErrorBody>)[];
}

/**
 * The per-frame merge rule, one for the replica (frames on its engine) and the gateway (frames on replicas):
 * every frame runs on its own and a bad frame fails only its own slot — unless every frame failed alike with
 * back-pressure, its deadline or its client gone (common/back-pressure.ts): that error answers the whole
 * request, and is thrown.
 *
 * @example
 * return c.json(await answerFrames(frames, async (frame) => frameBody(await engine.detect(frame, options))));
 */
export async function answerFrames<F, T>(
  frames: readonly F[],
  answer: (frame: F) => Promise<T>,
): Promise<FramesAnswer<T>> {
  const settled = await Promise.allSettled(frames.map(answer));
  const errors = settled.map((s) => (s.status === 'rejected' ? toGpumuxError(s.reason) : null));
  const shared = sharedFrameFailure(errors);
  if (shared) throw shared;
  return { results: settled.map((s, i) => (s.status === 'fulfilled' ? s.value : v1ErrorBody(errors[i]!))) };
}
