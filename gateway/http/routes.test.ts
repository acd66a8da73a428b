import { describe, expect, it } from 'vitest';
import { matchProxyRoute } from './routes.js';

describe('matchProxyRoute', () => {
  it.each([
    ['POST', '/v2/models/shapes/infer', { kind: 'infer', model: 'shapes', version: null, v1: false }],
    ['POST', '/v2/models/shapes/versions/1/infer', { kind: 'infer', model: 'shapes', version: '1' }],
    ['POST', '/v1/models/shapes/detect?threshold=0.5', { kind: 'detect', model: 'shapes', v1: true }],
    ['POST', '/v1/models/shapes/versions/2/detect', { kind: 'detect', version: '2' }],
    ['GET', '/v2/models/shapes', { kind: 'metadata', model: 'shapes' }],
    ['GET', '/v2/models/shapes/versions/1', { kind: 'metadata', version: '1' }],
  ])('%s %s', (method, url, expected) => {
    expect(matchProxyRoute(method, url)).toMatchObject(expected);
  });
  it.each([
    ['GET', '/v2/models/shapes/ready'],
    ['GET', '/v2/health/ready'],
    ['POST', '/v2/models/../admin/infer'],
    ['POST', 'http://evil.example/v2/models/shapes/infer'],
    ['POST', '/v2/models/shapes/infer/extra'],
    ['DELETE', '/v2/models/shapes'],
  ])('does not proxy %s %s', (method, url) => {
    expect(matchProxyRoute(method, url)).toBeNull();
  });
});
