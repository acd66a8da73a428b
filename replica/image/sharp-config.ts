import sharp from 'sharp';

/**
 * Process-wide libvips settings for a replica. One libvips thread per image: frames are decoded in
 * parallel on libuv's pool instead, and the budget is "ms of one core per frame". The operation
 * cache is off because every frame is a new image (caching only holds memory).
 */
export function configureSharp(options: { concurrency?: number } = {}): void {
  const { concurrency = 1 } = options;
  sharp.concurrency(concurrency);
  sharp.cache(false);
}
