import { describe, expect, it } from 'vitest';
import { CelError, evaluateCel } from './cel.js';

/** The CEL subset behaves as cel-go does where the admission policy depends on it. */
describe('evaluateCel', () => {
  const object = {
    spec: {
      containers: [{ name: 'a', securityContext: { privileged: false } }, { name: 'b' }],
      hostPID: true,
    },
  };
  it.each<[string, unknown]>([
    ['has(object.spec.hostPID) && object.spec.hostPID', true],
    ['has(object.spec.hostNetwork)', false],
    ['object.spec.containers.all(c, has(c.securityContext))', false],
    ['"b" in ["a", "b"] && !("c" in ["a"])', true],
    ['object.spec.containers + [1]', [...object.spec.containers, 1]],
    ['false && object.spec.missing', false], // an error on one side is absorbed when the other decides
    ['object.spec.missing || true', true],
    ['1 == "1"', false],
    ['has(object.spec.x) ? 1 : 2', 2],
  ])('%s', (expression, expected) => {
    expect(evaluateCel(expression, { object })).toEqual(expected);
  });

  it.each([
    ['object.spec.missing', /no such key: missing/],
    ['true && object.spec.missing', /no such key/],
    ['object.spec.containers.all(c, c.securityContext.privileged == false)', /no such key: securityContext/],
    ['object.spec.containers.map(c, c.name)', /unsupported function map/],
    // outside the subset the chart's policy uses: refused, never guessed
    ['object.spec.containers.exists(c, c.name == "b")', /unsupported function exists/],
    ['"GPU-1".startsWith("GPU-")', /unsupported function startsWith/],
    ['size(object.spec.containers) + 1', /no such overload/],
    ['1 * 2', /unsupported syntax/],
    ['unknown', /undeclared reference/],
  ])('%s is an error', (expression, message) => {
    expect(() => evaluateCel(expression, { object })).toThrow(CelError);
    expect(() => evaluateCel(expression, { object })).toThrow(message);
  });
});
