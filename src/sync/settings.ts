// Tunables of runs and of the schedule, in one place: production uses these defaults; tests pass smaller ones to executeRun
// (ExecuteOptions.settings) and tick.
export const defaultSyncSettings = {
  /** Full runs of stores with at least this many customers use a bulk export instead of pages. */
  bulkThreshold: 10_000,
  /**
   * Incremental runs with at least this many changed customers use a bulk export too: a page of ~170–200 customers costs ~1000
   * points, so past the 2000-point bucket (~400 customers) pages crawl at 20 customers/s on a standard plan (10k changes: 8
   * minutes), while an export of a few thousand customers takes seconds and costs 10 points.
   */
  incrementalBulkThreshold: 500,
  /**
   * A full bulk export is split into one part per this many customers, at most `bulkMaxParts`: each part is written while the
   * next one exports (fetch.ts, planBulkParts). Parts are exported one after another, so at most two of Kizuna's bulk queries
   * exist at a time (Shopify allows five per shop since 2026-01).
   */
  bulkCustomersPerPart: 6_250,
  bulkMaxParts: 8,
  /** Incremental runs re-read this much before the cursor: Shopify's updated_at filter precision is uncertain. */
  overlapMs: 5 * 60_000,
  /**
   * A running run whose heartbeat is older than this has lost its worker: every live worker looks for such runs every
   * `sweepMs` and puts them back on the queue, so a run whose worker was killed continues elsewhere within about
   * staleMs + sweepMs + a worker's poll (≈ 22 s), from its last committed batch. Three missed heartbeats, so a busy database
   * or a long batch is not mistaken for a dead worker (the heartbeat runs on its own timer and connection, not between batches).
   */
  staleMs: 15_000,
  heartbeatMs: 5_000,
  sweepMs: 5_000,
  /** A nightly run is full when the last successful full run is older than this (deletions are found on full runs). */
  fullEveryMs: 7 * 24 * 3600_000,
};
export type SyncSettings = typeof defaultSyncSettings;
