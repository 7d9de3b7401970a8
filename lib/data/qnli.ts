// QNLI-style sentence pairs from SQuAD, the way GLUE built QNLI: (question, a sentence of its paragraph),
// labelled entailment (0) when the sentence holds the answer, not_entailment (1) otherwise. Per answerable
// question: the sentence holding the answer, and as a negative the paragraph's other sentence sharing most
// words with the question (GLUE dropped pairs of low lexical overlap, so negatives are not trivially unrelated;
// taking the closest one is our choice). Unanswerable questions (SQuAD v2) have no answer sentence and are not
// used. Articles are split whole: the last `devArticles` are dev, so no paragraph is on both sides.
import * as fs from "node:fs";
import type { GlueExample, SkippedRow } from "./glue";

interface SquadFile {
  data: { title: string; paragraphs: { context: string; qas: { question: string; id: string; is_impossible?: boolean; answers: { text: string; answer_start: number }[] }[] }[] }[];
}

/** [start, end) character spans of the sentences of `text`: a break after . ! or ? (and a closing quote) before a capital or digit. */
export function sentenceSpans(text: string): [number, number][] {
  const spans: [number, number][] = [];
  let start = 0;
  for (const m of text.matchAll(/(?<=[.!?]["')\]]?)\s+(?=["'(\[]?[A-Z0-9])/g)) {
    spans.push([start, m.index!]);
    start = m.index! + m[0].length;
  }
  if (start < text.length) spans.push([start, text.trimEnd().length]);
  return spans.filter(([a, b]) => b > a);
}

const words = (s: string) => new Set(s.toLowerCase().match(/\w+/g) ?? []);

/** Train and dev pairs of a SQuAD JSON file; answerable questions whose answer is not where it says are skipped. */
export function qnliFromSquad(file: string, devArticles: number, skipped: SkippedRow[]): { train: GlueExample[]; dev: GlueExample[] } {
  const squad = JSON.parse(fs.readFileSync(file, "utf8")) as SquadFile;
  if (!Array.isArray(squad.data) || squad.data.length <= devArticles) {
    throw new Error(`${file}: expected SQuAD JSON with more than ${devArticles} articles in "data"`);
  }
  const train: GlueExample[] = [];
  const dev: GlueExample[] = [];
  let number = 0;
  squad.data.forEach((article, k) => {
    const out = k >= squad.data.length - devArticles ? dev : train;
    for (const { context, qas } of article.paragraphs) {
      const spans = sentenceSpans(context);
      for (const qa of qas) {
        number++;
        if (qa.is_impossible || qa.answers.length === 0) continue;
        const { text, answer_start: at } = qa.answers[0];
        if (!Number.isInteger(at) || context.slice(at, at + text.length) !== text) {
          skipped.push({ file, line: number, reason: `question ${qa.id}: answer '${text.slice(0, 30)}' is not at offset ${at}` });
          continue;
        }
        const holds = spans.findIndex(([a, b]) => at >= a && at < b);
        const sentence = (i: number) => context.slice(spans[i][0], spans[i][1]);
        out.push({ a: qa.question.trim(), b: sentence(holds), label: 0 });
        const q = words(qa.question);
        let best = -1, bestOverlap = -1;
        spans.forEach((_, i) => {
          if (i === holds) return;
          let overlap = 0;
          for (const w of words(sentence(i))) if (q.has(w)) overlap++;
          if (overlap > bestOverlap) [best, bestOverlap] = [i, overlap];
        });
        if (best >= 0) out.push({ a: qa.question.trim(), b: sentence(best), label: 1 });
      }
    }
  });
  return { train, dev };
}
