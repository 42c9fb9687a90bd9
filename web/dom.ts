// Small DOM helpers: elements, number formats, and data tables whose cells carry the raw value
// (data-value) beside the formatted text, for screen readers, keyboard users and the tests.

export type Attrs = Record<string, string | number | boolean | undefined>;

export function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: (Node | string | null | undefined)[]): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === false) continue;
    if (k === 'text') e.textContent = String(v);
    else e.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children) if (c !== null && c !== undefined) e.append(c);
  return e;
}

const nf = new Intl.NumberFormat('en-US');
export const count = (n: unknown) => (n === null || n === undefined ? '–' : nf.format(Number(n)));
export const pct = (x: unknown) => (x === null || x === undefined ? '–' : `${(Number(x) * 100).toFixed(1)}%`);
export const money = (x: unknown) => (x === null || x === undefined ? '–' : `$${Number(x).toPrecision(3)}`);
export const signedMoney = (x: unknown) => (x === null || x === undefined ? '–' : `${Number(x) >= 0 ? '+' : '−'}$${Math.abs(Number(x)).toPrecision(3)}`);
export const fixed = (d: number) => (x: unknown) => (x === null || x === undefined ? '–' : Number(x).toFixed(d));
export const seconds = (x: unknown) => {
  if (x === null || x === undefined) return '–';
  const s = Number(x);
  return s < 120 ? `${s.toFixed(1)} s` : s < 7200 ? `${(s / 60).toFixed(1)} min` : `${(s / 3600).toFixed(1)} h`;
};
export const text = (x: unknown) => (x === null || x === undefined ? '–' : Array.isArray(x) ? x.join(', ') : String(x));
export const when = (x: unknown) => (x === null || x === undefined ? '–' : String(x).replace('T', ' ').replace(/\.\d+Z$|Z$/, ' UTC'));

export interface Column {
  key: string;
  label: string;
  format?: (v: unknown, row: Record<string, unknown>) => string;
  num?: boolean;
}

export function table(caption: string, columns: Column[], rows: Record<string, unknown>[]): HTMLTableElement {
  const t = el('table', {}, el('caption', { class: 'sr-only', text: caption }));
  t.style.captionSide = 'top';
  const head = el('tr', {}, ...columns.map((c) => el('th', { scope: 'col', class: c.num ? 'num' : undefined, text: c.label })));
  t.append(el('thead', {}, head));
  const body = el('tbody');
  for (const r of rows) {
    const tr = el('tr');
    for (const c of columns) {
      const v = r[c.key];
      tr.append(el('td', { class: c.num ? 'num' : undefined, 'data-field': c.key, 'data-value': JSON.stringify(v ?? null), text: (c.format ?? text)(v, r) }));
    }
    body.append(tr);
  }
  t.append(body);
  return t;
}

/** A table behind a disclosure: the numbers every chart is drawn from. */
export function dataTable(caption: string, columns: Column[], rows: Record<string, unknown>[], open = false): HTMLDetailsElement {
  const d = el('details', { open }, el('summary', { text: `${caption} (${rows.length} rows)` }), table(caption, columns, rows));
  return d;
}

export function kpi(label: string, value: string, raw: unknown, field: string): HTMLElement {
  return el('div', { class: 'kpi', 'data-field': field, 'data-value': JSON.stringify(raw ?? null) }, el('div', { class: 'v', text: value }), el('div', { class: 'k', text: label }));
}

export function emptyPanel(message: string): HTMLElement {
  return el('p', { class: 'empty-panel', 'data-empty': true, text: message });
}
