import { Hono, type Context } from 'hono';
import { GpumuxError } from '../../../common/errors.js';
import { answerFrames } from '../../../common/http/multipart-answer.js';
import type { Engine, FrameResult } from '../../engine/types.js';
import { readImageParts } from '../multipart.js';
import { readBody, type ReadBodyOptions, type UploadLimits } from '../read-body.js';
import { assertAccepting, type Lifecycle } from '../lifecycle.js';
import type { ReplicaEnv } from '../env.js';
import { assertServedModel } from '../model.js';
import { endpoint } from '../request-tracking.js';

/** Raw image bodies the detect endpoint takes; anything else but multipart is 415. */
export const IMAGE_TYPES = ['image/jpeg', 'image/png', 'image/webp'] as const;

export interface DetectRoutesOptions {
  engine: Engine;
  lifecycle: Lifecycle;
  /** Minimum upload rate (read-body.ts). */
  uploads?: UploadLimits;
}

/** `?threshold=` in [0, 1]; undefined when absent (the manifest's default applies). */
export function parseThreshold(raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const value = raw.trim() === '' ? NaN : Number(raw);
  if (!Number.isFinite(value) || value < 0 || value > 1) {
    throw new GpumuxError('INVALID_PARAMETER', `threshold must be a number between 0 and 1, got "${raw}"`);
  }
  return value;
}

function mediaType(c: Context): string {
  return (c.req.header('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
}

/** The frames of a request: one raw body, or every multipart `image` field in order. */
async function readFrames(c: Context, maxFrames: number, limits: ReadBodyOptions): Promise<Uint8Array[]> {
  const type = mediaType(c);
  if ((IMAGE_TYPES as readonly string[]).includes(type)) {
    const body = await readBody(c.req.raw, limits);
    if (body.byteLength === 0)
      throw new GpumuxError('EMPTY_BODY', 'the request body is empty; send an image');
    return [body];
  }
  if (type === 'multipart/form-data') return readImageParts(c.req.raw, { ...limits, maxFrames });
  throw new GpumuxError(
    'UNSUPPORTED_MEDIA_TYPE',
    `content type "${type || '(none)'}" is not supported; send ${IMAGE_TYPES.join(', ')} or multipart/form-data with "image" fields`,
  );
}

function frameBody(result: FrameResult) {
  return {
    width: result.width,
    height: result.height,
    detections: result.detections,
    timings: result.timings,
  };
}

/**
 * `POST /v1/models/{m}[/versions/{v}]/detect`: encoded image(s) in, detections in original-image pixels out.
 * Each frame joins the batcher on its own; in a multi-frame request a bad frame fails only its own slot.
 * A client that goes away aborts its frames still queued (the request's signal).
 *
 * @example
 * curl -s --data-binary @cat.jpg -H 'content-type: image/jpeg' localhost:8081/v1/models/shapes/detect?threshold=0.5
 */
export function detectRoutes({ engine, lifecycle, uploads = {} }: DetectRoutesOptions): Hono<ReplicaEnv> {
  const app = new Hono<ReplicaEnv>();
  const { manifest } = engine;
  const limits: ReadBodyOptions = { ...uploads, maxBytes: manifest.limits.maxBodyBytes };

  const detect = async (c: Context<ReplicaEnv>): Promise<Response> => {
    assertServedModel(manifest, c.req.param('model') ?? '', c.req.param('version'));
    const threshold = parseThreshold(c.req.query('threshold'));
    assertAccepting(lifecycle);
    const frames = await readFrames(c, manifest.limits.maxFramesPerRequest, {
      ...limits,
      onReady: c.get('takeSlot'),
    });
    const signal = c.req.raw.signal;
    const options = threshold === undefined ? { signal } : { threshold, signal };

    // one frame (a raw body or a multipart with one image) answers as itself, errors included
    if (frames.length === 1) return c.json(frameBody(await engine.detect(frames[0]!, options)));
    // each frame on its own, a bad one failing only its slot (the one merge rule, common/http/multipart-answer.ts)
    return c.json(
      await answerFrames(frames, async (frame) => frameBody(await engine.detect(frame, options))),
    );
  };

  for (const path of ['/v1/models/:model/detect', '/v1/models/:model/versions/:version/detect']) {
    app.post(path, endpoint('detect'), detect);
  }
  return app;
}
