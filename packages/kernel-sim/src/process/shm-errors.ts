// Errors of shared memory: named objects (shm_open / shm_unlink), shared mappings of them, and
// handles. Each is thrown before any state changes; running out of memory stays an outcome (null).
import { KmemError } from '../api';
import { show } from '../show-value';

/** A shared-memory name that is not `/` followed by 1-254 characters other than `/` (POSIX's portable form, Linux's NAME_MAX). */
export class ShmNameError extends KmemError {
  readonly code = 'E_SHM_NAME';
  constructor(readonly shmName: unknown) {
    super(`shared-memory name ${typeof shmName === 'string' ? JSON.stringify(shmName.slice(0, 40)) : show(shmName)} is not "/" followed by 1-254 characters other than "/" (EINVAL)`);
  }
}

/** No shared-memory object has this name (shm_open without create, or shm_unlink: ENOENT). */
export class ShmNotFoundError extends KmemError {
  readonly code = 'E_SHM_NOT_FOUND';
  constructor(readonly shmName: string) {
    super(`no shared-memory object is named ${JSON.stringify(shmName)} (ENOENT)`);
  }
}

/** `create` with `exclusive` (O_CREAT | O_EXCL) of a name that exists (EEXIST). */
export class ShmExistsError extends KmemError {
  readonly code = 'E_SHM_EXISTS';
  constructor(readonly shmName: string) {
    super(`a shared-memory object named ${JSON.stringify(shmName)} exists already (EEXIST)`);
  }
}

/** A size that is not a positive multiple of 4096 bytes, or that differs from the existing object's. */
export class ShmSizeError extends KmemError {
  readonly code = 'E_SHM_SIZE';
  constructor(
    readonly sizeBytes: unknown,
    reason: string,
  ) {
    super(`shared-memory size ${typeof sizeBytes === 'number' ? show(sizeBytes) : typeof sizeBytes}: ${reason}`);
  }
}

/** Something that is not an open handle of a live shared-memory object (closed twice, or never opened: EBADF). */
export class ShmHandleError extends KmemError {
  readonly code = 'E_SHM_HANDLE';
}

/** A shared mapping of `[offset, offset + length)` that does not lie inside its object (Linux would SIGBUS on access; refused here at mmap). */
export class ShmRangeError extends KmemError {
  readonly code = 'E_SHM_RANGE';
}
