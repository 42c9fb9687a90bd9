// Charts through Observable Plot (docs/dashboard.md says why): every chart is a Plot figure with
// an accessible name; tiers keep one colour everywhere; axes follow the page's text colour, so
// light and dark both read.
import * as Plot from '@observablehq/plot';
import { el } from './dom';

const TIER_ORDER = ['small', 'medium', 'large'];

/** Tiers in a stable order (small, medium, large, then the rest by name), for one colour each. */
export function tierDomain(tiers: Iterable<unknown>): string[] {
  const s = [...new Set([...tiers].map(String))];
  return s.sort((a, b) => {
    const ia = TIER_ORDER.indexOf(a);
    const ib = TIER_ORDER.indexOf(b);
    return (ia < 0 ? 99 : ia) - (ib < 0 ? 99 : ib) || a.localeCompare(b);
  });
}

export const utcDay = (d: unknown) => new Date(`${String(d).slice(0, 10)}T00:00:00Z`);

export interface ChartOptions extends Plot.PlotOptions {
  title: string;
}

/** A titled figure holding one Plot chart. */
export function chart({ title, ...options }: ChartOptions): HTMLElement {
  const plot = Plot.plot({
    width: 460,
    height: 220,
    marginLeft: 56,
    style: { background: 'transparent', color: 'currentColor', fontSize: '11px', overflow: 'visible' },
    ariaLabel: title,
    ...options,
  });
  return el('figure', { class: 'chart', 'data-chart': title }, el('h3', { text: title }), plot);
}

/** The colour scale for a set of series (tiers or task types). */
export function seriesColor(domain: string[], legend: boolean): Plot.ScaleOptions {
  return { domain, scheme: 'observable10', legend };
}

export { Plot };
