// A BERT-style WordPiece tokenizer: lower-cased text, words and single punctuation marks as pre-tokens,
// greedy longest-match-first pieces with a `##` continuation prefix. The vocabulary is learned with BPE
// merges over word counts (as HuggingFace's WordPieceTrainer does), with incremental pair counts and a
// lazy max-heap, so a 4096 vocabulary from ~3M words trains in a few seconds.
import { normalizeText } from "./corpus";

/** Special token ids, fixed for every vocabulary. */
export const SPECIAL = { PAD: 0, UNK: 1, CLS: 2, SEP: 3, MASK: 4 } as const;
export const SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"];
export const NUM_SPECIAL = SPECIAL_TOKENS.length;
const CONT = "##";

/** Words (runs of letters, marks, digits) and single other characters, as BERT's basic tokenizer. */
export function pretokenize(normalized: string): string[] {
  return normalized.match(/[\p{L}\p{M}\p{N}]+|[^\s\p{L}\p{M}\p{N}]/gu) ?? [];
}

export interface WordPieceTrainOptions {
  /** Final vocabulary size, specials included. */
  vocabSize: number;
  /** Characters seen fewer times are not in the alphabet: words containing them encode to [UNK]. */
  minCharCount: number;
}

/** A sentence (pair) as model input; see WordPieceTokenizer.encodePair. */
export interface EncodedPair {
  /** [CLS] a [SEP] (b [SEP]) token ids. */
  ids: number[];
  /** Segment (sentence A = 0, B = 1) of each id. */
  segments: number[];
  /** True when tokens were cut to fit maxLen. */
  truncated: boolean;
}

export class WordPieceTokenizer {
  readonly vocab: readonly string[];
  private readonly ids: Map<string, number>;
  private readonly maxPieceChars: number;
  private readonly cache = new Map<string, number[]>();

  constructor(vocab: readonly string[]) {
    SPECIAL_TOKENS.forEach((t, i) => {
      if (vocab[i] !== t) throw new Error(`WordPieceTokenizer: vocab[${i}] must be ${t}, got ${vocab[i]}`);
    });
    this.vocab = vocab;
    this.ids = new Map(vocab.map((t, i) => [t, i]));
    if (this.ids.size !== vocab.length) throw new Error("WordPieceTokenizer: duplicate tokens in vocab");
    this.maxPieceChars = Math.max(...vocab.map((t) => (t.startsWith(CONT) ? t.length - CONT.length : t.length)));
  }

  get vocabSize(): number {
    return this.vocab.length;
  }

  tokenToId(token: string): number | undefined {
    return this.ids.get(token);
  }

  /** Ids of one pre-token: greedy longest match; a word with an unmatched character is one [UNK]. */
  encodeWord(word: string): number[] {
    const cached = this.cache.get(word);
    if (cached) return cached;
    const out: number[] = [];
    for (let start = 0; start < word.length; ) {
      let id: number | undefined;
      let end = Math.min(word.length, start + this.maxPieceChars);
      for (; end > start; end--) {
        id = this.ids.get((start > 0 ? CONT : "") + word.slice(start, end));
        if (id !== undefined) break;
      }
      if (id === undefined) {
        out.length = 0;
        out.push(SPECIAL.UNK);
        break;
      }
      out.push(id);
      start = end;
    }
    if (this.cache.size > 500_000) this.cache.clear(); // bounds memory on unbounded vocabularies of words
    this.cache.set(word, out);
    return out;
  }

  /** Token ids of raw text (normalised as the corpus is, then pre-tokenised). No [CLS]/[SEP] added. */
  encode(text: string): number[] {
    return this.encodeNormalized(normalizeText(text));
  }

  /** `encode` for text already through `normalizeText` (the corpus sentences), skipping that pass. */
  encodeNormalized(text: string): number[] {
    const out: number[] = [];
    for (const w of pretokenize(text)) for (const id of this.encodeWord(w)) out.push(id);
    return out;
  }

  /**
   * BERT's input for one sentence or a pair: [CLS] a [SEP] (b [SEP]), with segment ids 0 over [CLS] a [SEP]
   * and 1 over b [SEP], at most `maxLen` ids. Too long: the longer of a and b loses its last token until it
   * fits (BERT's longest-first truncation; `truncated` says it happened).
   */
  encodePair(a: string, b: string | undefined, maxLen: number): EncodedPair {
    const specials = b === undefined ? 2 : 3;
    if (!Number.isInteger(maxLen) || maxLen < specials + (b === undefined ? 1 : 2)) {
      throw new Error(`encodePair: maxLen must be an integer >= ${specials + (b === undefined ? 1 : 2)}, got ${maxLen}`);
    }
    const ta = this.encode(a);
    const tb = b === undefined ? [] : this.encode(b);
    const truncated = ta.length + tb.length + specials > maxLen;
    while (ta.length + tb.length + specials > maxLen) (ta.length >= tb.length ? ta : tb).pop();
    const ids = [SPECIAL.CLS, ...ta, SPECIAL.SEP, ...(b === undefined ? [] : [...tb, SPECIAL.SEP])];
    const segments = ids.map((_, i) => (i < ta.length + 2 ? 0 : 1));
    return { ids, segments, truncated };
  }

  /** Text of ids: pieces glued at `##`, words joined by one space; specials other than [UNK] dropped. */
  decode(ids: ArrayLike<number>): string {
    const words: string[] = [];
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i];
      if (id !== SPECIAL.UNK && id < NUM_SPECIAL) continue;
      const tok = this.vocab[id];
      if (tok === undefined) throw new Error(`decode: id ${id} out of range`);
      if (tok.startsWith(CONT) && words.length > 0) words[words.length - 1] += tok.slice(CONT.length);
      else words.push(tok);
    }
    return words.join(" ");
  }
}

/** Binary max-heap of (count, pair key); ties break to the smaller key so training is deterministic. */
class PairHeap {
  private counts: number[] = [];
  private keys: number[] = [];

  get size(): number {
    return this.counts.length;
  }

  private above(i: number, j: number): boolean {
    const c = this.counts;
    return c[i] > c[j] || (c[i] === c[j] && this.keys[i] < this.keys[j]);
  }

  private swap(i: number, j: number): void {
    [this.counts[i], this.counts[j]] = [this.counts[j], this.counts[i]];
    [this.keys[i], this.keys[j]] = [this.keys[j], this.keys[i]];
  }

  push(count: number, key: number): void {
    this.counts.push(count);
    this.keys.push(key);
    for (let i = this.size - 1; i > 0; ) {
      const p = (i - 1) >> 1;
      if (!this.above(i, p)) break;
      this.swap(i, p);
      i = p;
    }
  }

  top(): { count: number; key: number } {
    return { count: this.counts[0], key: this.keys[0] };
  }

  pop(): void {
    const last = this.size - 1;
    this.swap(0, last);
    this.counts.pop();
    this.keys.pop();
    for (let i = 0; ; ) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < this.size && this.above(l, m)) m = l;
      if (r < this.size && this.above(r, m)) m = r;
      if (m === i) break;
      this.swap(i, m);
      i = m;
    }
  }
}

const PAIR_BASE = 65536; // symbol ids stay below this, so a pair is one exact integer key a*BASE + b

/** Learns a vocabulary from word counts. Deterministic: same counts and options, same vocab. */
export function trainWordPiece(wordCounts: Map<string, number>, options: WordPieceTrainOptions): WordPieceTokenizer {
  const { vocabSize, minCharCount } = options;
  if (vocabSize >= PAIR_BASE) throw new Error(`trainWordPiece: vocabSize must be < ${PAIR_BASE}`);
  // Alphabet: frequent characters, as word-initial and as `##` continuation symbols where they occur so.
  const charCounts = new Map<string, number>();
  for (const [w, n] of wordCounts) for (const ch of w) charCounts.set(ch, (charCounts.get(ch) ?? 0) + n);
  const known = new Set([...charCounts].filter(([, n]) => n >= minCharCount).map(([ch]) => ch));
  const words = [...wordCounts.keys()].filter((w) => [...w].every((ch) => known.has(ch))).sort();
  const freqs = words.map((w) => wordCounts.get(w)!);
  const initial = new Set<string>();
  for (const w of words) [...w].forEach((ch, i) => initial.add(i === 0 ? ch : CONT + ch));
  const symbols = [...initial].sort();
  if (NUM_SPECIAL + symbols.length > vocabSize) {
    throw new Error(`trainWordPiece: vocabSize ${vocabSize} is below the alphabet size ${NUM_SPECIAL + symbols.length}`);
  }
  const symbolId = new Map(symbols.map((s, i) => [s, i]));
  const seqs: Int32Array[] = words.map((w) =>
    Int32Array.from([...w], (ch, i) => symbolId.get(i === 0 ? ch : CONT + ch)!),
  );

  // Pair counts, the words holding each pair (may hold stale entries, checked on use), and the heap.
  const pairCounts = new Map<number, number>();
  const pairWords = new Map<number, number[]>();
  const heap = new PairHeap();
  seqs.forEach((s, w) => {
    for (let i = 0; i + 1 < s.length; i++) {
      const key = s[i] * PAIR_BASE + s[i + 1];
      pairCounts.set(key, (pairCounts.get(key) ?? 0) + freqs[w]);
      const list = pairWords.get(key);
      if (list) list.push(w);
      else pairWords.set(key, [w]);
    }
  });
  for (const [key, n] of pairCounts) heap.push(n, key);

  const seen = new Int32Array(seqs.length).fill(-1);
  for (let merge = 0; NUM_SPECIAL + symbols.length < vocabSize && heap.size > 0; ) {
    const { count, key } = heap.top();
    heap.pop();
    if (pairCounts.get(key) !== count) continue; // stale heap entry
    merge++;
    const a = Math.floor(key / PAIR_BASE);
    const b = key % PAIR_BASE;
    const sb = symbols[b];
    const text = symbols[a] + (sb.startsWith(CONT) ? sb.slice(CONT.length) : sb);
    // Two merge paths can spell the same piece (a+##bc, ab+##c): reuse its id, the vocab does not grow.
    let c = symbolId.get(text);
    if (c === undefined) {
      c = symbols.length;
      symbols.push(text);
      symbolId.set(text, c);
    }
    const delta = new Map<number, number>();
    const add = (k: number, n: number) => delta.set(k, (delta.get(k) ?? 0) + n);
    for (const w of pairWords.get(key)!) {
      if (seen[w] === merge) continue;
      seen[w] = merge;
      const s = seqs[w];
      const merged: number[] = [];
      for (let i = 0; i < s.length; i++) {
        if (i + 1 < s.length && s[i] === a && s[i + 1] === b) {
          merged.push(c);
          i++;
        } else merged.push(s[i]);
      }
      if (merged.length === s.length) continue; // stale: the pair was merged away inside this word
      const f = freqs[w];
      for (let i = 0; i + 1 < s.length; i++) add(s[i] * PAIR_BASE + s[i + 1], -f);
      for (let i = 0; i + 1 < merged.length; i++) {
        const k = merged[i] * PAIR_BASE + merged[i + 1];
        add(k, f);
        if (merged[i] === c || merged[i + 1] === c) {
          const list = pairWords.get(k);
          if (list) list.push(w);
          else pairWords.set(k, [w]);
        }
      }
      seqs[w] = Int32Array.from(merged);
    }
    pairWords.delete(key);
    for (const [k, d] of delta) {
      if (d === 0) continue;
      const n = (pairCounts.get(k) ?? 0) + d;
      if (n > 0) {
        pairCounts.set(k, n);
        heap.push(n, k);
      } else {
        pairCounts.delete(k);
        pairWords.delete(k);
      }
    }
  }
  return new WordPieceTokenizer([...SPECIAL_TOKENS, ...symbols]);
}
