import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  drawImage,
  type ColorName,
  type ImageFormat,
  type Orientation,
  type Rect,
} from '../helpers/images.js';
import { startReplica, type ReplicaProcess } from '../helpers/replica-process.js';

/** /v1 detect against a real replica process on models/shapes: boxes come back where they were drawn. */

interface Detection {
  box: [number, number, number, number];
  score: number;
  label: number;
  name: string;
}
interface FrameBody {
  width: number;
  height: number;
  detections: Detection[];
  timings: Record<string, number>;
}

let replica: ReplicaProcess;
beforeAll(async () => {
  replica = await startReplica({ model: 'models/shapes' });
});
afterAll(async () => {
  if (replica) expect((await replica.stop()).code).toBe(0);
});

const detectUrl = (query = '') => `${replica.url}/v1/models/shapes/detect${query}`;

async function detectRaw(image: Buffer, format: ImageFormat, query = ''): Promise<FrameBody> {
  const res = await fetch(detectUrl(query), {
    method: 'POST',
    body: image,
    headers: { 'content-type': `image/${format}` },
  });
  const body = await res.json();
  expect(res.status, JSON.stringify(body)).toBe(200);
  return body as FrameBody;
}

/** Every drawn rectangle found once, with its colour's name, each side within `tolerance` px. */
function expectBoxes(found: Detection[], rects: Rect[], tolerance = 2): void {
  expect(found.map((d) => d.name).sort()).toEqual(rects.map((r) => r.color as string).sort());
  for (const rect of rects) {
    const d = found.find((x) => x.name === rect.color)!;
    d.box.forEach((v, i) =>
      expect(
        Math.abs(v - rect.box[i]!),
        `${String(rect.color)} side ${i}: ${String(d.box)} vs ${String(rect.box)}`,
      ).toBeLessThanOrEqual(tolerance),
    );
    expect(d.score).toBeGreaterThan(0.9);
  }
}

describe('POST /v1/models/shapes/detect (real replica)', () => {
  it('done when: a 640×480 JPEG with a red rectangle at (100,120)–(300,260) → one detection "red" within 2 px', async () => {
    const rects: Rect[] = [{ box: [100, 120, 300, 260], color: 'red' }];
    const body = await detectRaw(await drawImage({ width: 640, height: 480, rects }), 'jpeg');
    expect([body.width, body.height]).toEqual([640, 480]);
    expect(body.detections).toHaveLength(1);
    expectBoxes(body.detections, rects);
    expect(body.detections[0]!.label).toBe(0);
    expect(body.timings.batchSize).toBeGreaterThanOrEqual(1);
  });

  // Several sizes and aspect ratios (landscape, portrait, square, up- and down-scaled) in each format.
  const cases: {
    width: number;
    height: number;
    format: ImageFormat;
    rects: [number, number, number, number, ColorName][];
  }[] = [
    {
      width: 640,
      height: 480,
      format: 'png',
      rects: [
        [12, 30, 200, 222, 'red'],
        [300, 300, 630, 470, 'blue'],
      ],
    },
    {
      width: 1280,
      height: 720,
      format: 'jpeg',
      rects: [
        [100, 100, 500, 400, 'green'],
        [700, 80, 1200, 600, 'red'],
      ],
    },
    { width: 1280, height: 720, format: 'webp', rects: [[40, 60, 420, 700, 'blue']] },
    {
      width: 480,
      height: 640,
      format: 'jpeg',
      rects: [
        [50, 60, 250, 300, 'red'],
        [260, 400, 470, 630, 'green'],
      ],
    },
    { width: 300, height: 300, format: 'png', rects: [[30, 60, 150, 240, 'green']] },
    {
      width: 960,
      height: 960,
      format: 'webp',
      rects: [
        [120, 180, 600, 900, 'red'],
        [660, 60, 900, 300, 'blue'],
      ],
    },
    {
      width: 320,
      height: 1000,
      format: 'png',
      rects: [
        [20, 100, 300, 400, 'blue'],
        [40, 600, 200, 980, 'red'],
      ],
    },
  ];
  for (const { width, height, format, rects } of cases) {
    it(`finds ${rects.length} rectangle(s) in a ${width}×${height} ${format}`, async () => {
      const drawn: Rect[] = rects.map(([x1, y1, x2, y2, color]) => ({ box: [x1, y1, x2, y2], color }));
      const body = await detectRaw(await drawImage({ width, height, format, rects: drawn }), format);
      expect([body.width, body.height]).toEqual([width, height]);
      expectBoxes(body.detections, drawn);
    });
  }

  for (const orientation of [6, 3, 8] as Orientation[]) {
    it(`applies EXIF orientation ${orientation}: boxes are in the displayed image's pixels`, async () => {
      const rects: Rect[] = [
        { box: [100, 120, 300, 260], color: 'red' },
        { box: [400, 50, 600, 200], color: 'green' },
      ];
      const jpeg = await drawImage({ width: 640, height: 480, rects, orientation });
      const body = await detectRaw(jpeg, 'jpeg');
      expect([body.width, body.height]).toEqual([640, 480]);
      expectBoxes(body.detections, rects);
    });
  }

  it('finds nothing in an image without shapes', async () => {
    const body = await detectRaw(await drawImage({ width: 640, height: 480 }), 'jpeg');
    expect(body.detections).toEqual([]);
  });

  it('applies ?threshold= per request (score = share of the box the colour fills)', async () => {
    // An L shape: its box is 200×200 but red fills 3/4 of it, so its score is 0.75.
    const rects: Rect[] = [
      { box: [100, 100, 300, 200], color: 'red' },
      { box: [100, 200, 200, 300], color: 'red' },
    ];
    const jpeg = await drawImage({ width: 640, height: 480, format: 'png', rects });
    const low = await detectRaw(jpeg, 'png', '?threshold=0.5');
    expect(low.detections).toHaveLength(1);
    expect(low.detections[0]!.score).toBeCloseTo(0.75, 2);
    const high = await detectRaw(jpeg, 'png', '?threshold=0.9');
    expect(high.detections).toHaveLength(0);
  });

  it('serves the versioned path too', async () => {
    const res = await fetch(`${replica.url}/v1/models/shapes/versions/1/detect`, {
      method: 'POST',
      body: await drawImage({ width: 640, height: 480, rects: [{ box: [10, 10, 50, 50], color: 'blue' }] }),
      headers: { 'content-type': 'image/jpeg' },
    });
    expect(res.status).toBe(200);
    expectBoxes(((await res.json()) as FrameBody).detections, [{ box: [10, 10, 50, 50], color: 'blue' }]);
  });

  it('takes several multipart images, answers in order, and fails only the bad frame', async () => {
    const a: Rect[] = [{ box: [100, 120, 300, 260], color: 'red' }];
    const c: Rect[] = [{ box: [200, 100, 1000, 600], color: 'blue' }];
    const form = new FormData();
    form.append(
      'image',
      new Blob([await drawImage({ width: 640, height: 480, rects: a })], { type: 'image/jpeg' }),
      'a.jpg',
    );
    form.append('image', new Blob([Buffer.from('definitely not an image')], { type: 'image/jpeg' }), 'b.jpg');
    form.append(
      'image',
      new Blob([await drawImage({ width: 1280, height: 720, format: 'png', rects: c })], {
        type: 'image/png',
      }),
      'c.png',
    );
    const res = await fetch(detectUrl(), { method: 'POST', body: form });
    expect(res.status).toBe(200);
    const { results } = (await res.json()) as { results: (FrameBody | { error: { code: string } })[] };
    expect(results).toHaveLength(3);
    expectBoxes((results[0] as FrameBody).detections, a);
    expect(results[1]).toMatchObject({ error: { code: 'INVALID_IMAGE' } });
    expect([(results[2] as FrameBody).width, (results[2] as FrameBody).height]).toEqual([1280, 720]);
    expectBoxes((results[2] as FrameBody).detections, c);
  });

  it('answers a single multipart image with the single-frame shape', async () => {
    const rects: Rect[] = [{ box: [30, 40, 130, 140], color: 'green' }];
    const form = new FormData();
    form.append(
      'image',
      new Blob([await drawImage({ width: 640, height: 480, format: 'webp', rects })]),
      'a.webp',
    );
    const res = await fetch(detectUrl(), { method: 'POST', body: form });
    const body = (await res.json()) as FrameBody;
    expect(res.status).toBe(200);
    expectBoxes(body.detections, rects);
  });
});
