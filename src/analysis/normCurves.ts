/**
 * Per-example gradient norms of the compared losses as functions of the original norm g, for the figures
 * (spec section 5, Fig. 1 middle / Fig. 3). Plain numbers; the tensor versions live in gradientStats.ts.
 */
import type { GhmRegions } from './gradientStats.js';

/**
 * Focal-loss gradient norm |dFL/dx| in terms of the CE norm g in [0, 1] (no alpha):
 * g^gamma (g - gamma (1 - g) ln(1 - g)), the same for positives and negatives (derivation in gradientStats.ts).
 * At g = 1 the (1 - g) ln(1 - g) term is 0.
 */
export function focalGradientNorm(g: number, gamma: number): number {
  const tail = g >= 1 ? 0 : (1 - g) * Math.log(1 - g);
  return Math.pow(g, gamma) * (g - gamma * tail);
}

/**
 * Smooth-L1 gradient norm min(|d| / beta, 1) in terms of the ASL1 norm g_r = |d| / sqrt(d^2 + mu^2) in [0, 1):
 * |d| = mu g_r / sqrt(1 - g_r^2). g_r = 1 (|d| -> infinity) gives 1.
 */
export function smoothL1NormFromAsl1(gr: number, mu: number, beta: number): number {
  if (gr >= 1) return 1;
  const d = (mu * gr) / Math.sqrt(1 - gr * gr);
  return Math.min(d / beta, 1);
}

/**
 * The GHM weight beta(g) of the unit region holding g (region j = [j/M, (j+1)/M), g = 1 in the last), or null
 * when that region held no example in the batch (beta undefined there).
 */
export function ghmWeightAt(g: number, regions: GhmRegions): number | null {
  const j = Math.min(Math.max(Math.floor(g * regions.bins), 0), regions.bins - 1);
  return regions.counts[j]! > 0 ? regions.weights[j]! : null;
}
