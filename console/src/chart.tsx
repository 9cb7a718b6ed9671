// Charts drawn with uPlot: stacked bars of spend over time and plain
// lines. A chart is a figure with a text description for screen readers
// (the tables beside the charts hold the same numbers), redraws itself at
// its container's width, and takes its colours from the page's theme.

import { useEffect, useRef } from "preact/hooks";
import uPlot from "uplot";
import { cumulative } from "./spend";

/** Series colours, distinguishable in light and dark themes (Okabe–Ito based). */
export const PALETTE = ["#3b82f6", "#f59e0b", "#10b981", "#ef4444", "#8b5cf6", "#06b6d4", "#ec4899", "#84cc16", "#94a3b8"];

/** colorOf returns the colour of series i. */
export function colorOf(i: number, label?: string): string {
  return label === "other" ? "#94a3b8" : PALETTE[i % (PALETTE.length - 1)];
}

function cssVar(name: string, fallback: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || fallback;
}

export interface Series {
  label: string;
  values: number[];
}

/**
 * TimeChart draws series over xs (unix seconds): stacked bars when
 * stacked, lines otherwise. yFormat formats the axis and legend values.
 */
export function TimeChart(props: {
  xs: number[];
  series: Series[];
  stacked?: boolean;
  description: string;
  yFormat: (v: number) => string;
  height?: number;
  theme: string;
  hourly?: boolean;
}) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const text = cssVar("--text-muted", "#64748b");
    const grid = cssVar("--grid", "#e2e8f0");
    const raw = props.series.map((s) => s.values);
    // Stacked bars: draw the running totals, the top of the stack first,
    // each bar over the one before; the legend shows each series' own value.
    const drawn = props.stacked ? cumulative(raw) : raw;
    const order = props.series.map((_, i) => i);
    if (props.stacked) order.reverse();
    const bars = uPlot.paths.bars!({ size: [0.8, 64], align: 0 });
    const opts: uPlot.Options = {
      width: Math.max(280, el.clientWidth),
      height: props.height ?? 260,
      legend: { show: true, live: true },
      cursor: { drag: { x: false, y: false }, points: { show: !props.stacked } },
      scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, max > 0 ? max * 1.08 : 1] } },
      axes: [
        { stroke: text, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid } },
        { stroke: text, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid }, size: 72, values: (_u, vals) => vals.map((v) => props.yFormat(v)) },
      ],
      series: [
        { value: (_u, v) => (v == null ? "" : new Date(v * 1000).toLocaleString(undefined, props.hourly ? { dateStyle: "medium", timeStyle: "short" } : { dateStyle: "medium" })) },
        ...order.map((i) => ({
          label: props.series[i].label,
          stroke: colorOf(i, props.series[i].label),
          fill: props.stacked ? colorOf(i, props.series[i].label) : undefined,
          width: props.stacked ? 0 : 2,
          paths: props.stacked ? bars : undefined,
          points: { show: false },
          value: (_u: uPlot, _v: number | null, _si: number, idx: number | null) => (idx == null ? "" : props.yFormat(raw[i][idx] ?? 0)),
        })),
      ],
    };
    const data: uPlot.AlignedData = [props.xs, ...order.map((i) => drawn[i])];
    const plot = new uPlot(opts, data, el);
    const ro = new ResizeObserver(() => plot.setSize({ width: Math.max(280, el.clientWidth), height: props.height ?? 260 }));
    ro.observe(el);
    return () => {
      ro.disconnect();
      plot.destroy();
    };
  }, [props.xs, props.series, props.stacked, props.theme, props.height]);
  return (
    <figure class="chart" aria-label={props.description}>
      <div ref={box} class="chart-box" role="img" aria-label={props.description} />
      <figcaption class="visually-hidden">{props.description}</figcaption>
    </figure>
  );
}
