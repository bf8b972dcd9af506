from preflint.findings import DROP, Applicability, Fix, Severity
from preflint.rule import DatasetRule
from preflint.rules._dedup import FirstSeen


class ExactDuplicate(DatasetRule):
    """The same prompt, chosen and rejected as an earlier row.

    ## What it does
    Keys every pair by the content hash of its normalized prompt, chosen and rejected (so the same pair in JSONL
    and in Parquet, or as text and as ShareGPT, is the same) and reports each later copy with the first row. A
    labelled, ranked or unpaired row is keyed by its prompt, candidates, their scores and its label.
    Holds 8-byte hashes, not rows.

    ## Why is this bad?
    Duplicates weight some preferences twice, leak between train and eval splits made by random sampling, and
    inflate the dataset size the author reports.

    ## Example
    Row 17 and row 240 are the same pair (the LLaMA-Factory English demo has 5 such rows, the Chinese one 11).

    ## Fix safety
    Safe: later copies are dropped, the first is kept.
    """

    code = "D001"
    name = "exact-duplicate"
    family = "dataset"
    severity = Severity.WARNING
    fix = Fix(Applicability.SAFE, "drop this later copy; the first occurrence is kept", DROP)

    def start(self):
        return FirstSeen()

    def update(self, state, batch):
        for row, digest in zip(batch.rows, batch.hashes):  # pairs and samples alike (ties and unpaired rows too)
            if digest is not None:
                state.see(int(digest, 16), row)
        return state

    def merge(self, state, other):
        return state.merge(other)

    def finish(self, state):
        for first, _, later in state.groups():
            for row, _ in later:
                yield self.finding(row, f"duplicate of row {first}")
