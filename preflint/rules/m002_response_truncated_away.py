from preflint.findings import Severity
from preflint.rule import DROP_ROW, EVERY_ROW_FAILS, RowRule


class ResponseTruncatedAway(RowRule):
    """After the trainer's truncation a response has no tokens left, or the trainer drops the row or fails on it.

    ## What it does
    Applies the trainer profile's truncation (`--trainer`, `--max-length`, ...) and reports pairs where a side's
    completion mask is empty, and pairs the trainer would drop (TRL drops rows whose prompt fills max_length,
    OpenRLHF those within 2 tokens of it, LLaMA-Factory those whose turns do not alternate), and pairs its
    preprocessing raises on, which stops the whole run (TRL rendering the empty prompt it extracts from two
    dialogues that differ from their first message; axolotl given a reply of no messages).

    ## Why is this bad?
    A side without completion tokens has log-probability 0 under both policy and reference, so its implicit
    reward is 0: if both sides are empty the loss is pinned at ln 2 = 0.6931, otherwise the pair trains on one
    side only. Dropped rows silently shrink the dataset; a row the preprocessing raises on stops the run before
    its first step. Unpaired (KTO) rows are checked as `--trainer kto` feeds them (a trainer of pairs fails on them).

    ## Example
    A 1,000-token prompt with `--trainer trl --max-length 1024`: 24 tokens of each response survive; at
    `--max-length 1000`, none do and TRL drops the row.

    ## Fix safety
    Safe: the row is dropped; raise max-length if you want it trained. Display-only where the trainer fails on
    every row like it (a text prompt beside message responses, for TRL; a tokenizer without a chat template):
    dropping would empty the dataset.
    """

    code = "M002"
    name = "response-truncated-away"
    family = "mask"
    severity = Severity.ERROR
    fix = DROP_ROW
    needs_trainer = True

    def check(self, batch):
        for i, row in enumerate(batch.trainer):
            if row is None:
                continue
            # an unpaired row is outside the forecast of a trainer of pairs (which fails on it); KTO's counts it
            pair = None if batch.pairs[i] is not None or batch.unpaired_training else False
            if row.failure:
                message = f"the trainer's preprocessing fails on this row, which stops the run: {row.dropped}"
                fix = EVERY_ROW_FAILS if row.failure.every_row else None
                yield self.finding(batch.rows[i], message, fix, no_signal=pair)
                continue
            if row.dropped:
                yield self.finding(batch.rows[i], f"the trainer drops this row: {row.dropped}", no_signal=pair)
                continue
            empty = [(side, inputs) for side, inputs in row.sides() if not inputs.completion_kept]
            if empty:
                sides, have = " and ".join(side for side, _ in empty), "s have" if len(empty) == 2 else " has"
                if all(len(inputs.joint_ids) <= inputs.completion_start for _, inputs in empty):
                    # a reply of no messages: nothing to truncate, and no truncation to blame
                    message = f"the {sides} response{have} no tokens for the trainer, before any truncation"
                else:
                    message = f"after truncation the {sides} response{have} no tokens left"
                no_signal = False if len(empty) < len(row.sides()) else pair  # a pair trains its other side
                yield self.finding(
                    batch.rows[i], f"{message} ({len(row.prompt_alone)} prompt tokens)", no_signal=no_signal
                )
