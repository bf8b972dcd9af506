import struct

from preflint.findings import DROP, Applicability, Fix, Severity
from preflint.pipeline.batch import digest
from preflint.rule import DatasetRule
from preflint.rules._dedup import FirstSeen

PAIR_KEY = struct.Struct("<3Q")  # the keys of the prompt and of the two responses, in key order


class ContradictoryPair(DatasetRule):
    """The same prompt and responses as another row, with chosen and rejected swapped.

    ## What it does
    Keys every pair by its prompt and its two responses as an unordered set, remembers which one was chosen, and
    reports rows whose preference is the opposite of the first row's with that key, on both rows.

    ## Why is this bad?
    A>B in one row and B>A in another cancel out in the loss: the pair costs compute and teaches nothing, and it
    usually points at label noise or swapped columns in part of the data.

    ## Example
    ```jsonl
    {"prompt": "Capital of France?", "chosen": "Paris.", "rejected": "Lyon."}
    {"prompt": "Capital of France?", "chosen": "Lyon.", "rejected": "Paris."}
    ```

    ## Fix safety
    Unsafe: both rows are dropped; which label is right is a judgement call.
    """

    code = "D003"
    name = "contradictory-pair"
    family = "dataset"
    severity = Severity.ERROR
    fix = Fix(Applicability.UNSAFE, "drop both rows of the contradiction", DROP)

    def start(self):
        return FirstSeen()

    def update(self, state, batch):
        for i in batch.comparable():
            prompt, chosen, rejected = batch.text_keys(i)
            if chosen != rejected:  # keys of the texts: one key for both orders, the payload says which this is
                low, high = sorted((chosen, rejected))
                state.see(digest(PAIR_KEY.pack(prompt, low, high)), batch.rows[i], int(chosen == low))
        return state

    def merge(self, state, other):
        return state.merge(other)

    def finish(self, state):
        for first, orientation, later in state.groups():
            swapped = [row for row, other in later if other != orientation]
            if swapped:
                rows = ", ".join(map(str, swapped))
                yield self.finding(first, f"contradicted by row {rows}: same prompt, chosen and rejected swapped")
                for row in swapped:
                    yield self.finding(row, f"contradicts row {first}: same prompt, chosen and rejected swapped")
