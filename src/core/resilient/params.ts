/**
 * The `resilient` profile's fixed parameters (docs/consensus-resilient.md says why each value).
 * Times are whole seconds: the profile's block timestamps are integers, so no floating point
 * enters a consensus decision.
 */
export interface SlotParams {
  /** Length of one slot: rank r may forge once the parent is r slots old. */
  readonly slotSeconds: number;
  /** How far ahead of the receiver's clock a block's timestamp may be and still be adopted. */
  readonly maxDriftSeconds: number;
  /** The least gap between a block and its parent (timestamps strictly increase). */
  readonly minGapSeconds: number;
}

/** The profile's slot timing. */
export const RESILIENT_SLOTS: SlotParams = Object.freeze({
  slotSeconds: 5,
  maxDriftSeconds: 2,
  minGapSeconds: 1,
});

/** A stake counts in the ranking only once its block is this many blocks deep. */
export const STAKE_DELAY_BLOCKS = 10;

/** A node never replaces more than this many blocks of its chain (Praos's k). */
export const MAX_REORG_DEPTH = 8;
