import type uPlot from "uplot";

/** The width a uPlot chart may take in its box. */
export function plotWidth(box: HTMLElement): number {
  return Math.max(320, box.clientWidth - 8);
}

/** Keep a box's chart as wide as the box when the window (or layout) changes. */
export function followWidth(box: HTMLElement, chart: () => uPlot | null, height: number): () => void {
  const observer = new ResizeObserver(() => {
    const current = chart();
    if (current && Math.abs(current.width - plotWidth(box)) > 1) current.setSize({ width: plotWidth(box), height });
  });
  observer.observe(box);
  return () => observer.disconnect();
}
