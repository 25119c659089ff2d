// The kinds of access a trace record makes, as small integers for typed arrays.

/**
 * Kind of a trace record. `Modify` is Valgrind's `M`: a load then a store of the same bytes (one
 * instruction such as `add [mem], reg`), replayed as two accesses.
 */
export const AccessKind = {
  /** Instruction fetch (lackey `I`). */
  Fetch: 0,
  /** Data load (lackey `L`, plain `R`). */
  Load: 1,
  /** Data store (lackey `S`, plain `W`). */
  Store: 2,
  /** Load then store (lackey `M`). */
  Modify: 3,
} as const;

/** One of the {@link AccessKind} values. */
export type AccessKind = (typeof AccessKind)[keyof typeof AccessKind];

/** Letters used when a person reads a kind: `I`, `L`, `S`, `M`. */
export const ACCESS_KIND_LETTERS = ['I', 'L', 'S', 'M'] as const;
