// The extra panels of the visualizer, in page order. To add one: write web/src/views/NAME.ts that
// exports a WebView (see ../shell/view.ts) and add one line here.
import type { WebView } from '../shell/view';
import { accessView } from './access';
import { kernel32View } from './kernel32';
import { quizView } from './quiz';
import { swapView } from './swap';
import { tableChangesView } from './table-changes';
import { traceView } from './trace';

/** Registered views, rendered after the built-in panels. */
export const VIEWS: readonly WebView[] = [
  accessView,
  tableChangesView,
  swapView,
  kernel32View,
  traceView,
  quizView,
];
