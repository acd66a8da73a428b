import { describe, expect, it } from 'vitest';
import { contextFor, record, statsFor } from '../../../test/gateway/fixtures.js';
import { servesModelFilter } from './serves-model.js';

describe('servesModelFilter', () => {
  const v1 = record('v1', statsFor({ model: 'codetr', version: '1' }));
  const v2 = record('v2', statsFor({ model: 'codetr', version: '2' }));
  const other = record('other', statsFor({ model: 'shapes' }));
  const all = [v1, v2, other];
  it.each([
    [null, [v1, v2]],
    ['2', [v2]],
    ['3', []],
  ])('version %s', (version, expected) => {
    expect(servesModelFilter.filter(all, contextFor(all, { model: 'codetr', version }))).toEqual(expected);
  });
});
