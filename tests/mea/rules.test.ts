// The engine's rules at and around every boundary of the spec's table. Expected values are the
// spec's formula written out for each case (clamped constants), never the function's own output.
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/core/errors.js';
import { allocationWeight, moodCoefficient, tierFor } from '../../src/mea/index.js';
import { TIER_CASES } from './cases.js';

describe('tierFor', () => {
  it.each(TIER_CASES)('|%d| is %s', (value, tier) => {
    expect(tierFor(value)).toBe(tier);
  });

  it('refuses NaN and infinities with a ValidationError', () => {
    for (const v of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
      expect(() => tierFor(v)).toThrow(ValidationError);
    }
  });
});

describe('moodCoefficient', () => {
  it.each([
    ['in range', { vTendency: 0.6, gfm: 1.2, vSwap: 0.1 }, 0.6 / 1.2 + 0.1],
    ['GFM missing is 1', { vTendency: 0.6, vSwap: 0.1 }, 0.6 / 1 + 0.1],
    ['GFM null is 1', { vTendency: 0.6, gfm: null, vSwap: 0.1 }, 0.6 / 1 + 0.1],
    ['vTendency above 1.2 clamps to 1.2', { vTendency: 2, gfm: 1, vSwap: 0 }, 1.2],
    ['vTendency exactly 1.2', { vTendency: 1.2, gfm: 1, vSwap: 0 }, 1.2],
    ['vTendency below -1.2: the result clamps to 0.2', { vTendency: -2, gfm: 1, vSwap: 0 }, 0.2],
    ['GFM below 0.8 clamps to 0.8', { vTendency: 1, gfm: 0.5, vSwap: 0 }, 1 / 0.8],
    ['GFM exactly 0.8', { vTendency: 1, gfm: 0.8, vSwap: 0 }, 1 / 0.8],
    ['GFM above 1.2 clamps to 1.2', { vTendency: 1.2, gfm: 2, vSwap: 0 }, 1.2 / 1.2],
    ['vSwap above 0.5 clamps to 0.5', { vTendency: 1, gfm: 1, vSwap: 0.7 }, 1 + 0.5],
    ['vSwap below -0.5 clamps to -0.5', { vTendency: 1, gfm: 1, vSwap: -0.7 }, 1 - 0.5],
    // the largest the clamped inputs allow: 1.2 / 0.8 + 0.5 (1.9999999999999998 in doubles, under 2.0)
    ['the largest result', { vTendency: 1.2, gfm: 0.8, vSwap: 0.5 }, 1.2 / 0.8 + 0.5],
    [
      'inputs beyond every clamp give the largest result',
      { vTendency: 5, gfm: 0.1, vSwap: 3 },
      1.2 / 0.8 + 0.5,
    ],
    ['the result at 0.2 exactly', { vTendency: 0, gfm: 1, vSwap: 0.2 }, 0.2],
    ['the result just below 0.2 clamps', { vTendency: 0, gfm: 1, vSwap: 0.19 }, 0.2],
    ['the result just above 0.2', { vTendency: 0, gfm: 1, vSwap: 0.21 }, 0.21],
  ])('%s', (_name, input, expected) => {
    expect(moodCoefficient(input)).toBe(expected);
  });

  it('refuses a non-finite input naming the field', () => {
    const e = (() => {
      try {
        moodCoefficient({ vTendency: Number.NaN, vSwap: 0 });
      } catch (x) {
        return x;
      }
    })();
    expect(e).toBeInstanceOf(ValidationError);
    expect((e as ValidationError).issues.map((i) => i.path)).toEqual([['vTendency']]);
  });
});

describe('allocationWeight', () => {
  it.each([
    [
      'gamma, N = 5 (k = 4)',
      { balanceBase: 100, coins: 5, tier: 'gamma', moodCoefficient: 1 },
      100 * (1 / 4) * 1.15 * 1,
    ],
    [
      'alpha, N = 2 (k = 1)',
      { balanceBase: 80, coins: 2, tier: 'alpha', moodCoefficient: 2 },
      80 * (1 / 1) * 0.15 * 2,
    ],
    ['beta', { balanceBase: 10, coins: 3, tier: 'beta', moodCoefficient: 0.2 }, 10 * (1 / 2) * 0.55 * 0.2],
    ['delta', { balanceBase: 10, coins: 3, tier: 'delta', moodCoefficient: 1 }, 10 * (1 / 2) * 0.65 * 1],
    ['epsilon', { balanceBase: 10, coins: 3, tier: 'epsilon', moodCoefficient: 1 }, 10 * (1 / 2) * 0.5 * 1],
    ['none weighs 0', { balanceBase: 10, coins: 3, tier: 'none', moodCoefficient: 1 }, 0],
  ])('%s', (_name, input, expected) => {
    expect(allocationWeight(input)).toBe(expected);
  });

  it('refuses N < 2 and an unknown tier', () => {
    expect(() => allocationWeight({ balanceBase: 1, coins: 1, tier: 'alpha', moodCoefficient: 1 })).toThrow(
      ValidationError,
    );
    expect(() => allocationWeight({ balanceBase: 1, coins: 3, tier: 'zeta', moodCoefficient: 1 })).toThrow(
      ValidationError,
    );
  });
});
