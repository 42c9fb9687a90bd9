// tokenizer.json → ids, through @huggingface/tokenizers (no remote loading: files only).
import { readFileSync } from 'node:fs';
import { Tokenizer } from '@huggingface/tokenizers';

export interface Encoded {
  ids: number[];
  truncated: boolean;
}

export class TextTokenizer {
  private readonly tokenizer: Tokenizer;
  private readonly specialIds: Set<number>;
  readonly padId: number;

  constructor(tokenizerPath: string, configPath: string | null, readonly maxTokens: number) {
    const json = JSON.parse(readFileSync(tokenizerPath, 'utf8')) as Record<string, unknown>;
    const config = configPath ? (JSON.parse(readFileSync(configPath, 'utf8')) as Record<string, unknown>) : {};
    // WordLevel vocabularies take their unknown token from the config, not the model section.
    const model = json.model as { unk_token?: string } | undefined;
    if (config.unk_token === undefined && model?.unk_token) config.unk_token = model.unk_token;
    this.tokenizer = new Tokenizer(json, config);
    const t = this.tokenizer as unknown as { all_special_ids: number[] };
    this.specialIds = new Set(t.all_special_ids);
    const padding = json.padding as { pad_id?: number } | null | undefined;
    this.padId = padding?.pad_id ?? 0;
  }

  /** Encodes with the model's special tokens; past maxTokens keeps the head and a closing special token. */
  encode(text: string): Encoded {
    // Newlines and tabs are unknown to some vocabularies (USE-lite's): any whitespace run is a space.
    const ids = this.tokenizer.encode(text.replace(/\s+/g, ' ').trim()).ids;
    if (ids.length <= this.maxTokens) return { ids, truncated: false };
    const last = ids[ids.length - 1]!;
    const head = this.specialIds.has(last) ? [...ids.slice(0, this.maxTokens - 1), last] : ids.slice(0, this.maxTokens);
    return { ids: head, truncated: true };
  }
}
