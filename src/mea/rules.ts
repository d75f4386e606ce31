/**
 * The MEA/mood engine's rules as pure functions, so the tier stored is always the one computed (the
 * database checks `tier = mea_dynamics.tier_for(mea_value)` with the same bounds).
 */
import { z } from 'zod';
import { float8Input } from '../core/codecs.js';
import { parseInput } from '../core/run.js';

/** The tiers, weakest first (the `mea_dynamics.tier` enum has the same names). */
export const Tier = z.enum(['none', 'alpha', 'beta', 'gamma', 'delta', 'epsilon']);
export type Tier = z.infer<typeof Tier>;

/** Lower bounds (inclusive) of |value| for each tier above none. */
export const TIER_BOUNDS = [
  { tier: 'alpha', from: 0.00016 },
  { tier: 'beta', from: 0.00032 },
  { tier: 'gamma', from: 0.00045 },
  { tier: 'delta', from: 0.00076 },
  { tier: 'epsilon', from: 0.0012 },
] as const satisfies readonly { tier: Tier; from: number }[];

/** Each tier's allocation weight. */
export const TIER_WEIGHTS: Readonly<Record<Tier, number>> = Object.freeze({
  none: 0,
  alpha: 0.15,
  beta: 0.55,
  gamma: 1.15,
  delta: 0.65,
  epsilon: 0.5,
});

const finite = float8Input;

/**
 * The tier of a coin's value (its id_pct) by magnitude: below 0.00016 none; alpha from 0.00016, beta
 * from 0.00032, gamma from 0.00045, delta from 0.00076, epsilon from 0.00120 (lower bounds inclusive).
 * @example
 * ```ts
 * tierFor(0.00016); // 'alpha'
 * tierFor(-0.0005); // 'gamma'
 * ```
 * @throws ValidationError when `value` is not a finite number
 */
export function tierFor(value: number): Tier {
  const v = Math.abs(parseInput('mea.tierFor', finite, value));
  let tier: Tier = 'none';
  for (const b of TIER_BOUNDS) if (v >= b.from) tier = b.tier;
  return tier;
}

const clamp = (x: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, x));

/** Input of `moodCoefficient`. */
export const MoodInput = z.strictObject({
  /** Clamped to ±1.2. */
  vTendency: finite,
  /** Clamped to [0.8, 1.2]; 1 when missing. */
  gfm: finite.nullable().optional(),
  /** Clamped to ±0.5. */
  vSwap: finite,
});
export type MoodInput = z.input<typeof MoodInput>;

/**
 * The mood coefficient: clamp(vTendency / GFM + vSwap, 0.2, 2.0), after clamping vTendency to ±1.2,
 * GFM to [0.8, 1.2] (1 when missing) and vSwap to ±0.5.
 * @example
 * ```ts
 * moodCoefficient({ vTendency: 0.6, gfm: 1.2, vSwap: 0.1 }); // 0.6 (0.5 + 0.1)
 * ```
 * @throws ValidationError when an input is not a finite number
 */
export function moodCoefficient(input: MoodInput): number {
  const i = parseInput('mea.moodCoefficient', MoodInput, input);
  const t = clamp(i.vTendency, -1.2, 1.2);
  const g = clamp(i.gfm ?? 1, 0.8, 1.2);
  const s = clamp(i.vSwap, -0.5, 0.5);
  return clamp(t / g + s, 0.2, 2.0);
}

/** Input of `allocationWeight`. */
export const AllocationInput = z.strictObject({
  /** The balance of the base coin. */
  balanceBase: finite,
  /** N, the number of coins (k = N − 1 ≥ 1). */
  coins: z.int().min(2, 'must be at least 2 (k = N - 1)'),
  tier: Tier,
  moodCoefficient: finite,
});
export type AllocationInput = Omit<z.input<typeof AllocationInput>, 'tier'> & { tier: Tier | (string & {}) };

/**
 * Allocation weight (base → quote) = balanceBase × (1 / k) × tierWeight × moodCoefficient, k = N − 1.
 * @example
 * ```ts
 * allocationWeight({ balanceBase: 100, coins: 5, tier: 'gamma', moodCoefficient: 1 }); // 100 × 0.25 × 1.15
 * ```
 * @throws ValidationError when an input is malformed
 */
export function allocationWeight(input: AllocationInput): number {
  const i = parseInput('mea.allocationWeight', AllocationInput, input);
  return i.balanceBase * (1 / (i.coins - 1)) * TIER_WEIGHTS[i.tier] * i.moodCoefficient;
}
