// The two facts every translation needs besides the address: what kind of access, and at which
// privilege. Plain numeric consts (not TS enums) so they erase to numbers on the hot path.

/**
 * Kind of memory access being translated (SDM vol. 3A 4.6: reads, writes and instruction
 * fetches are checked differently).
 */
export const Access = {
  /** Data read. */
  Read: 0,
  /** Data write. */
  Write: 1,
  /** Instruction fetch. */
  Execute: 2,
} as const;
/** One of the `Access` values. */
export type Access = (typeof Access)[keyof typeof Access];

/**
 * Privilege of an access (SDM 4.6.1: CPL < 3 is a supervisor-mode access, CPL = 3 a user-mode
 * access). The numbers are the CPLs, so `Mode.User === 3`.
 */
export const Mode = {
  /** CPL 0: the kernel. */
  Supervisor: 0,
  /** CPL 3: user space. */
  User: 3,
} as const;
/** One of the `Mode` values. */
export type Mode = (typeof Mode)[keyof typeof Mode];

/** Human-readable name of an access kind, e.g. `'write'`. */
export function accessName(access: Access): string {
  return access === Access.Write ? 'write' : access === Access.Execute ? 'instruction fetch' : 'read';
}

/** Human-readable name of a mode, e.g. `'user'`. */
export function modeName(mode: Mode): string {
  return mode === Mode.User ? 'user' : 'supervisor';
}
