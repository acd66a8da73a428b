import { describe, expect, it } from 'vitest';
import { failureHint, lastErrorLine } from './failure-cause.js';

const json = (o: Record<string, unknown>): string => JSON.stringify(o);

describe("a dead replica's last error", () => {
  it('is the last error record: its msg and err.message', () => {
    const tail = [
      json({ level: 'info', msg: 'listening', url: 'http://127.0.0.1:1' }),
      json({ level: 'error', msg: 'engine failed to start', err: { message: 'first' } }),
      json({ level: 'error', msg: 'model failed to load; exiting', err: { message: "File doesn't exist" } }),
      json({ level: 'info', msg: 'closing' }),
    ];
    expect(lastErrorLine(tail)).toBe("model failed to load; exiting: File doesn't exist");
  });

  it("is a runtime's own last plain line when no error record exists, else null", () => {
    expect(lastErrorLine([json({ level: 'info', msg: 'x' }), 'Segmentation fault', ''])).toBe(
      'Segmentation fault',
    );
    expect(lastErrorLine([json({ level: 'info', msg: 'x' })])).toBeNull();
  });

  it('points at the export guide when the model files are missing, and says nothing otherwise', () => {
    expect(failureHint("Load model /m/model.onnx failed. File doesn't exist")).toMatch(
      /models\/codetr\/README\.md/,
    );
    expect(failureHint('cannot read model manifest /m/manifest.json: ENOENT')).toMatch(/export the model/);
    expect(failureHint('CUDA out of memory')).toBeNull();
  });
});
