from preflint.findings import Severity
from preflint.pipeline.batch import key, plain_text
from preflint.rule import RowRule
from preflint.rules._dedup import (
    RUN,
    ContainedIndex,
    PromptIndex,
    prompt_text,
    signatures,
    words,
)


class ReferenceOverlap(RowRule):
    """A prompt that is, nearly is, or contains a prompt of reference data such as a test set: train/test leakage.

    ## What it does
    Reads every input named in `against` (`--against test.jsonl`, several allowed, any readable input: preference
    pairs, or prompts alone, as evaluation sets hold them in a `prompt`, `instruction`, `question`, ... column, or
    as MT-Bench's and Arena-Hard's `turns`; a dataset of several splits in its held-out ones, or in the one named
    as `org/evals[test]`) and indexes its prompts. Then it reports rows whose prompt is in it exactly, or nearly:
    Jaccard similarity of word 3-gram shingles at least `threshold` (MinHash LSH, as D004; prompts shorter than
    `min-words` words are matched exactly only). A row whose prompt contains a reference prompt of 8 words or
    more is reported too (at least `threshold` of that prompt's distinct runs of 8 consecutive words are in the
    row's prompt): an evaluation question asked in the second turn of a conversation, after a system preamble or
    inside a few-shot prompt. Words are compared lowercased, split at whitespace; runs that more than 50
    reference prompts share (an instruction template's boilerplate) do not count.

    ## Why is this bad?
    A model preference-tuned on an evaluation's prompts scores well on that evaluation for the wrong reason.

    ## Example
    `preflint scan train.jsonl --against test.jsonl` with a test prompt that also sits in train with one word
    changed, or as the second question of a conversation.

    ## Fix safety
    No automatic fix here: dropping the rows is the usual answer, but which side of the split keeps the prompt is
    the author's call.
    """

    code = "D005"
    name = "reference-overlap"
    family = "dataset"
    severity = Severity.ERROR
    options = {"against": [], "threshold": 0.8, "min-words": 5}

    def __init__(self, **settings):
        super().__init__(**settings)
        self._reference = None

    def reference(self):
        """Exact prompt keys and a near-duplicate index of the reference prompts, built on first use."""
        if self._reference is None:
            from preflint.io.read import reference_batches
            from preflint.shapes.detect import reference_prompts

            exact, index, labels, contained = {}, PromptIndex(self.settings["threshold"]), [], ContainedIndex()
            for raw in reference_batches(self.settings["against"]):
                records = [record for record in raw.records if isinstance(record, dict)]
                texts = [plain_text(prompt) for prompt in reference_prompts(records, raw.source)] if records else []
                long = []
                for text in texts:
                    if (text_key := key(text)) not in exact:  # test sets of pairs repeat their prompts
                        exact[text_key] = raw.source
                        contained.add(text_words := words(text), raw.source)
                        if len(text_words) >= self.settings["min-words"]:
                            long.append(text_words)
                for sig in signatures(long):
                    if index.match(sig) is None:
                        index.add(sig, len(labels))
                        labels.append(raw.source)
            self._reference = (exact, index, labels, contained.freeze())
        return self._reference

    def check(self, batch):
        if not self.settings["against"]:
            return
        exact, index, labels, contained = self.reference()
        threshold = self.settings["threshold"]
        others = []
        for i in batch.usable():
            source = exact.get(batch.text_keys(i)[0])
            if source is not None:
                yield self.finding(batch.rows[i], f"the prompt is also in {source}")
            else:
                others.append((i, words(prompt_text(batch.pairs[i]))))
        long = [(i, text_words) for i, text_words in others if len(text_words) >= self.settings["min-words"]]
        nearly = {i: index.match(sig) for (i, _), sig in zip(long, signatures([text_words for _, text_words in long]))}
        for i, text_words in others:
            if nearly.get(i) is not None:
                yield self.finding(
                    batch.rows[i], f"the prompt nearly matches one in {labels[nearly[i]]} (Jaccard ≥ {threshold})"
                )
            elif inside := contained.containing(text_words, threshold):
                source, share = inside
                part = "the whole of" if share == 1 else f"{share:.0%} of the {RUN}-word runs of"
                yield self.finding(batch.rows[i], f"the prompt contains {part} a prompt in {source}")
