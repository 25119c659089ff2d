// What a kernel panic prints: the reason, CR3, and with CR2 the error code decoded and the page
// walk of CR2 level by level (Linux's oops shows the same), for the 'panic' event and KernelPanic.
import { describePageFaultErrorCode, formatWalk, walkTables } from '@kmem/x86-paging';
import type { PanicReportData } from '../events';
import { LINEAR_LIMIT, formatCanonical } from '../hex';
import type { PanicDetails } from '../kernel-services';
import type { KernelParts } from './kernel-parts';

/** The report of a panic with `reason` and `details`, walking CR2 in the current CR3. */
export function panicReport(parts: KernelParts, reason: string, details: PanicDetails): PanicReportData {
  const cpu = parts.machine.cpu;
  const cr3 = cpu.registers.cr3Frame;
  let walk: string | undefined;
  if (details.cr2 !== undefined && Number.isSafeInteger(details.cr2) && details.cr2 >= 0 && details.cr2 < LINEAR_LIMIT) {
    try {
      walk = formatWalk(details.cr2, walkTables(parts.physical, cr3, details.cr2, parts.machine.maxPhysAddrBits));
    } catch (e) {
      walk = `walk of ${formatCanonical(details.cr2)} failed: ${e instanceof Error ? e.message : String(e)}`;
    }
  }
  return {
    reason,
    cr3,
    ...(details.cr2 === undefined ? {} : { cr2: details.cr2 }),
    ...(details.errorCode === undefined ? {} : { errorCode: details.errorCode, errorCodeText: describePageFaultErrorCode(details.errorCode) }),
    ...(walk === undefined ? {} : { walk }),
    ...(details.pid === undefined ? {} : { pid: details.pid }),
    ...(details.extra === undefined ? {} : { details: details.extra }),
  };
}
