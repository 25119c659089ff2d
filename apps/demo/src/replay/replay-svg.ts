// The replay's pictures as one SVG, drawn by Apache ECharts' server-side SVG renderer (no DOM,
// no canvas): page faults against frames (every policy asked, OPT, and the LRU curve for every
// memory size), and the working set over time.
import * as echarts from 'echarts';
import type { ReplayResult } from '@kmem/kernel-sim';

const COLORS = ['#5470c6', '#91cc75', '#fac858', '#ee6666', '#73c0de', '#3ba272', '#fc8452', '#9a60b4'];

/** The SVG text (960 x 720 px) for a replay of `traceName`. */
export function replaySvg(result: ReplayResult, traceName: string): string {
  const chart = echarts.init(null, null, { renderer: 'svg', ssr: true, width: 960, height: 720 });
  const curve = result.lruCurve;
  // The curve is stored at its steps: draw it as a step line out to the largest frame count shown.
  const maxFrames = Math.max(curve.at(-1)?.[0] ?? 1, ...result.policies.flatMap((p) => p.faults.map(([f]) => f)));
  const curveData = curve.map(([f, m]) => [f, Math.max(m, 1)]);
  if (curve.length > 0) curveData.push([maxFrames, Math.max(curve.at(-1)![1], 1)]);
  const ws = result.workingSet;
  chart.setOption({
    animation: false,
    backgroundColor: '#ffffff',
    color: COLORS,
    title: [
      { text: `Page faults vs frames — ${traceName}`, subtext: `${result.accesses.total.toLocaleString('en-US')} accesses, ${result.distinctPages.toLocaleString('en-US')} distinct pages; LRU curve from one pass (Mattson)`, left: 'center', top: 8 },
      { text: `Working set |W(t, τ)|, τ = ${ws.windowRefs.toLocaleString('en-US')} references`, left: 'center', top: 420 },
    ],
    legend: { top: 62, data: ['LRU (every size)', ...result.policies.map((p) => p.policy.toUpperCase())] },
    grid: [
      { left: 90, right: 40, top: 100, height: 270 },
      { left: 90, right: 40, top: 470, height: 200 },
    ],
    xAxis: [
      { gridIndex: 0, type: 'log', name: 'frames', nameLocation: 'middle', nameGap: 28, min: 1, max: maxFrames },
      { gridIndex: 1, type: 'value', name: 'page references', nameLocation: 'middle', nameGap: 28, min: 0 },
    ],
    yAxis: [
      { gridIndex: 0, type: 'log', name: 'faults', nameLocation: 'middle', nameGap: 60 },
      { gridIndex: 1, type: 'value', name: 'pages', nameLocation: 'middle', nameGap: 60, min: 0 },
    ],
    series: [
      { name: 'LRU (every size)', type: 'line', step: 'end', showSymbol: false, data: curveData, xAxisIndex: 0, yAxisIndex: 0, lineStyle: { width: 1.5 } },
      ...result.policies.map((p) => ({ name: p.policy.toUpperCase(), type: 'line', symbolSize: 7, data: p.faults.map(([f, m]) => [f, Math.max(m, 1)]), xAxisIndex: 0, yAxisIndex: 0 })),
      { name: 'working set', type: 'line', showSymbol: false, areaStyle: { opacity: 0.2 }, data: ws.points.map((p) => [p.time, p.pageCount]), xAxisIndex: 1, yAxisIndex: 1, color: '#3ba272' },
    ],
  });
  const svg = chart.renderToSVGString();
  chart.dispose();
  return svg;
}
