import struct

from preflint.findings import DROP, Applicability, Fix, Severity
from preflint.pipeline.batch import digest, key, plain_text
from preflint.rule import DatasetRule
from preflint.rules._dedup import FirstSeen
from preflint.shapes.samples import UNPAIRED

EXAMPLE_KEY = struct.Struct("<2Q")  # the keys of the prompt and of the completion
SAME = "same prompt and completion"
SAME = "same prompt and completion"


class KTOContradiction(DatasetRule):
    """The same prompt and completion labelled desirable in one unpaired (KTO) row and undesirable in another.

    ## What it does
    Keys every unpaired row by its prompt and completion, remembers the first row's label, and reports rows with
    that key whose label is the other one, on both rows. Rows with the same label are D001's duplicates.

    ## Why is this bad?
    KTO pushes a desirable completion up and an undesirable one down: the two rows pull the same completion both
    ways and cancel out, costing compute; usually they point at label noise or two sources merged with opposite
    conventions.

    ## Example
    ```jsonl
    {"prompt": "Capital of France?", "completion": "Paris.", "label": true}
    {"prompt": "Capital of France?", "completion": "Paris.", "label": false}
    ```

    ## Fix safety
    Unsafe: both rows are dropped; which label is right is a judgement call.
    """

    code = "D006"
    name = "kto-contradiction"
    family = "dataset"
    severity = Severity.ERROR
    fix = Fix(Applicability.UNSAFE, "drop both rows of the contradiction", DROP)

    def start(self):
        return FirstSeen()

    def update(self, state, batch):
        for i in batch.with_samples():
            sample = batch.samples[i]
            if sample.form == UNPAIRED:
                (completion,) = sample.candidates
                keys = key(plain_text(completion.prompt)), key(plain_text(completion.reply))
                state.see(digest(EXAMPLE_KEY.pack(*keys)), batch.rows[i], int(sample.desirable))
        return state

    def merge(self, state, other):
        return state.merge(other)

    def finish(self, state):
        labels = ("undesirable", "desirable")
        for first, label, later in state.groups():
            opposite = [row for row, other in later if other != label]
            if opposite:
                here, there = labels[label], labels[1 - label]
                rows = ", ".join(map(str, opposite))
                yield self.finding(first, f"labelled {here} here and {there} in row {rows}: {SAME}")
                for row in opposite:
                    yield self.finding(row, f"labelled {there} here and {here} in row {first}: {SAME}")
