// A batch of parsed trace records in parallel typed arrays: the readers fill one and hand it on,
// so nothing is allocated per record.

/** Records per batch unless asked otherwise. */
export const DEFAULT_BATCH_RECORDS = 8192;

/**
 * Parsed records `[0, length)` in structure-of-arrays form. A reader reuses the same batch for
 * every call of its sink: copy what you keep.
 */
export class TraceBatch {
  /** Linear address (48-bit form) of each record. */
  readonly va: Float64Array;
  /** Bytes accessed (1..4096). */
  readonly sizeBytes: Uint16Array;
  /** {@link AccessKind} of each record. */
  readonly kind: Uint8Array;
  /** Where the record came from: its 1-based line (text traces) or byte offset (binary traces). */
  readonly position: Float64Array;
  /** Records filled. */
  length = 0;
  /** Capacity in records. */
  readonly capacity: number;

  constructor(capacity = DEFAULT_BATCH_RECORDS) {
    this.capacity = capacity;
    this.va = new Float64Array(capacity);
    this.sizeBytes = new Uint16Array(capacity);
    this.kind = new Uint8Array(capacity);
    this.position = new Float64Array(capacity);
  }
}

/** Receives a full (or the last, partial) batch. */
export type TraceBatchSink = (batch: TraceBatch) => void;
