// What a panel of the visualizer is to the shell: a title, a width, and a render function the shell
// calls after every change of the displayed state (a step, a step back, an access, a reset).
// A new view is a new file under web/src/views/ plus one line in web/src/views/index.ts.
import type { AccessRequest, ActionResult, DemoSession, EntryChange } from '../../../src/scenarios/index';

/** What the shell hands a view. */
export interface ViewContext {
  /** Shows the page walk of `va` in the walk panel (pid 0: the kernel's tables). */
  walk(va: number, pid: number): void;
  /** Makes an access: it becomes the next step of the history (undoable) and the page redraws. */
  access(request: AccessRequest): void;
  /** What the last step of the history did (null at the start). */
  last(): ActionResult | null;
  /** The page-table entries the last step changed (null at the start), computed once per position. */
  tableChanges(): readonly EntryChange[] | null;
}

/** One panel of the page. */
export interface WebView {
  /** Unique id: the panel's element gets `id="view-<id>"` and `class="panel view-<id>"`. */
  readonly id: string;
  /** The panel's heading. */
  readonly title: string;
  /** Columns of the 12-column grid the panel spans (default 6; the page stacks panels below 1100 px). */
  readonly columns?: number;
  /** Whether the panel is shown for this session (default: always), e.g. only for the swap scenario. */
  readonly shownFor?: (session: DemoSession) => boolean;
  /**
   * Fills `body` (the panel below its heading) from `session`, the state now. Called after every
   * change; it must not change the session (time travel replays it), only read it.
   */
  render(body: HTMLElement, session: DemoSession, ctx: ViewContext): void;
}
