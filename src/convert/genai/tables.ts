// The model → tier map and the price table: shipped as dated files in model-data/, overridden by
// files named in the settings (their entries are tried first). Matching is pure.
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { MODEL_DATA_DIR } from '../../paths.js';
import type { Usage } from './spans.js';

const pattern = z.string().min(1);
const price = z.number().min(0);

export const TierFile = z.object({
  date: z.string().optional(),
  tiers: z.array(z.strictObject({ pattern, tier: z.string().min(1) })),
}).loose();

export const PriceFile = z.object({
  date: z.string().optional(),
  source: z.string().optional(),
  currency: z.string().optional(),
  models: z.array(z.strictObject({ pattern, input: price, output: price, cache_read: price.optional(), cache_write: price.optional(), reasoning: price.optional() })),
}).loose();

export type TierRule = z.infer<typeof TierFile>['tiers'][number];
export type PriceRule = z.infer<typeof PriceFile>['models'][number];

interface Compiled<T> {
  re: RegExp;
  rule: T;
}

const compile = <T extends { pattern: string }>(rules: readonly T[]): Compiled<T>[] =>
  rules.map((rule) => ({ rule, re: new RegExp(`^${rule.pattern.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`, 'i') }));

/** A model name as matched: any vendor/ prefix (openai/gpt-4o, models/gemini-2.5-pro) removed. */
const bare = (model: string) => model.slice(model.lastIndexOf('/') + 1);

export class ModelTables {
  private readonly tiers: Compiled<TierRule>[];
  private readonly prices: Compiled<PriceRule>[];

  constructor(
    tiers: readonly TierRule[],
    prices: readonly PriceRule[],
    /** Dates (and override files) of the tables in use: recorded on each execution. */
    readonly version: { tiers: string; prices: string },
  ) {
    this.tiers = compile(tiers);
    this.prices = compile(prices);
  }

  /** The tier of a model: the first matching pattern, else the model's own name. */
  tierOf(model: string): string {
    const m = bare(model);
    return this.tiers.find((t) => t.re.test(m))?.rule.tier ?? model;
  }

  priceOf(model: string): PriceRule | null {
    const m = bare(model);
    return this.prices.find((p) => p.re.test(m))?.rule ?? null;
  }

  /** USD for one call's tokens; null when no price is known. Cached and reasoning tokens are parts of input and output. */
  cost(model: string | null, u: Usage): number | null {
    const p = model ? this.priceOf(model) : null;
    if (!p) return null;
    const cached = Math.min(u.input, u.cache_read + u.cache_write);
    const read = Math.min(u.cache_read, cached);
    const reasoning = Math.min(u.reasoning, u.output);
    const perToken =
      (u.input - cached) * p.input +
      read * (p.cache_read ?? p.input) +
      (cached - read) * (p.cache_write ?? p.input) +
      (u.output - reasoning) * p.output +
      reasoning * (p.reasoning ?? p.output);
    return perToken / 1e6;
  }
}

function readJson<T>(path: string, schema: z.ZodType<T>, what: string): T {
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new Error(`${what} ${path}: ${(err as Error).message}`);
  }
  const parsed = schema.safeParse(data);
  if (!parsed.success) {
    const i = parsed.error.issues[0]!;
    throw new Error(`${what} ${path}: ${i.path.join('.')}: ${i.message}`);
  }
  return parsed.data;
}

export const SHIPPED_TIERS = `${MODEL_DATA_DIR}model-tiers.json`;
export const SHIPPED_PRICES = `${MODEL_DATA_DIR}prices.json`;

/** The shipped tables, with the override files' entries tried first. */
export function loadModelTables(overrides: { tiersFile?: string; pricesFile?: string } = {}): ModelTables {
  const tiers = readJson(SHIPPED_TIERS, TierFile, 'model tier map');
  const prices = readJson(SHIPPED_PRICES, PriceFile, 'price table');
  const ot = overrides.tiersFile ? readJson(overrides.tiersFile, TierFile, 'model tier map') : null;
  const op = overrides.pricesFile ? readJson(overrides.pricesFile, PriceFile, 'price table') : null;
  const label = (shipped: { date?: string }, over: { date?: string } | null, file?: string) =>
    `${shipped.date ?? 'undated'}${over ? ` + ${file}${over.date ? ` (${over.date})` : ''}` : ''}`;
  return new ModelTables([...(ot?.tiers ?? []), ...tiers.tiers], [...(op?.models ?? []), ...prices.models], {
    tiers: label(tiers, ot, overrides.tiersFile),
    prices: label(prices, op, overrides.pricesFile),
  });
}
