from preflint.findings import Severity
from preflint.pipeline.batch import plain_text
from preflint.rule import RowRule


class DuplicateBos(RowRule):
    """The sequence the trainer builds holds the BOS token more than once.

    ## What it does
    Counts the tokenizer's BOS id in each side's input ids as the trainer profile builds them and reports pairs
    where it appears twice or more: a chat template that writes BOS and a tokenizer that adds it again, or BOS
    text already in the prompt.

    ## Why is this bad?
    Models are trained with one BOS at position 0. A second one is out of distribution at every step, and it
    shifts every position after it; the loss curve still looks normal.

    ## Example
    ```jsonl
    {"prompt": "<|begin_of_text|>Capital of France?", "chosen": "Paris.", "rejected": "Rome."}
    ```
    with a Llama 3 tokenizer, which adds its own BOS.

    ## Fix safety
    No automatic fix: remove the BOS text from the data; where the chat template writes BOS and the trainer's
    tokenization adds it again (axolotl's chat_template types with TRL 1.8), the trainer's code or settings must
    change, not the data.
    """

    code = "M004"
    name = "duplicate-bos"
    family = "mask"
    severity = Severity.ERROR
    needs_trainer = True

    def check(self, batch):
        bos = batch.tokenizer.hf.bos_token_id if batch.tokenizer else None
        if bos is None:
            return
        bos_text = batch.tokenizer.hf.bos_token
        for i, row in batch.trained():
            count = row.chosen.joint_ids.count(bos)
            if count > 1:
                where = "at the start" if row.chosen.joint_ids[:2] == [bos, bos] else "in the sequence"
                in_data = any(bos_text in plain_text(content) for content in batch.contents(i))
                source = (
                    "the data holds its text"
                    if in_data
                    else "the chat template writes it and the trainer adds it again"
                )
                yield self.finding(batch.rows[i], f"BOS ({bos_text}) appears {count} times {where}: {source}")
