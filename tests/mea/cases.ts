/** Values at and around every tier boundary, with the tier the spec's table gives. */
const below = (x: number) => x - 1e-12;

export const TIER_CASES: [number, string][] = [
  [0, 'none'],
  [below(0.00016), 'none'],
  [0.00016, 'alpha'],
  [below(0.00032), 'alpha'],
  [0.00032, 'beta'],
  [below(0.00045), 'beta'],
  [0.00045, 'gamma'],
  [below(0.00076), 'gamma'],
  [0.00076, 'delta'],
  [below(0.0012), 'delta'],
  [0.0012, 'epsilon'],
  [0.5, 'epsilon'],
  [-0.00016, 'alpha'],
  [-below(0.00016), 'none'],
  [-0.00045, 'gamma'],
  [-0.0012, 'epsilon'],
];
