/**
 * A replica record's failure streak and ejection: the data outlier.ts's detector keeps, apart from the
 * detector, so that records.ts can hold it without importing the detector that imports records.
 */
export interface OutlierState {
  consecutiveFailures: number;
  /** Epoch ms until which the replica gets nothing; 0 when not ejected. */
  ejectedUntil: number;
  /** Ejections in a row (the back-off exponent). */
  ejections: number;
  /** When it was last re-admitted (epoch ms): the back-off decays once it has stayed in for `max`. */
  admittedAt: number;
}

export function newOutlierState(): OutlierState {
  return { consecutiveFailures: 0, ejectedUntil: 0, ejections: 0, admittedAt: 0 };
}

/** Ejected until the back-off has passed AND a later /v1/stats poll finds it ready (the poll clears it). */
export function isEjected(r: { outlier: OutlierState }): boolean {
  return r.outlier.ejectedUntil !== 0;
}
