from preflint.findings import DROP, Applicability, Fix, Severity
from preflint.pipeline.batch import digest, plain_text
from preflint.rule import DatasetRule
from preflint.rules._dedup import FirstSeen, loose
from preflint.shapes.images import images_suffix


class NormalizedDuplicate(DatasetRule):
    """The same pair as an earlier row once case, whitespace and Unicode forms are normalized.

    ## What it does
    Keys every pair by its prompt, chosen and rejected after NFKC normalization, case folding and whitespace
    collapsing, and reports later rows with the same key that are not exact copies (those are D001's).

    ## Why is this bad?
    Near-copies that differ in a trailing space or a full-width character are duplicates to the model, with the
    same effects as D001, but escape exact deduplication.

    ## Example
    ```jsonl
    {"prompt": "Capital of France?", "chosen": "Paris.", "rejected": "Rome."}
    {"prompt": "capital of  France?", "chosen": "Paris.", "rejected": "Rome."}
    ```

    ## Fix safety
    Unsafe: the later row is dropped, but the differences may be deliberate (casing as the preference).
    """

    code = "D002"
    name = "normalized-duplicate"
    family = "dataset"
    severity = Severity.WARNING
    fix = Fix(Applicability.UNSAFE, "drop this later near-copy; the first occurrence is kept", DROP)

    def start(self):
        return FirstSeen()

    def update(self, state, batch):
        prompts: dict[int, bytes] = {}  # several pairs per prompt: the prompt is normalized once
        for i in batch.usable():
            pair = batch.pairs[i]
            prompt_key = batch.text_keys(i)[0]
            if (prompt := prompts.get(prompt_key)) is None:
                prompt = prompts[prompt_key] = loose(plain_text(pair.prompt)) + images_suffix(pair).encode()
            texts = (prompt, loose(plain_text(pair.chosen)), loose(plain_text(pair.rejected)))
            loose_key = digest(b"\x1f".join(texts))
            state.see(loose_key, batch.rows[i], int(batch.hashes[i], 16))
        return state

    def merge(self, state, other):
        return state.merge(other)

    def finish(self, state):
        for first, first_hash, later in state.groups():
            seen = {first_hash}
            for row, exact in later:
                if exact not in seen:  # an exact copy of a row already listed is D001's
                    seen.add(exact)
                    yield self.finding(row, f"same as row {first} after normalizing case, whitespace and Unicode")
