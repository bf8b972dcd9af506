from preflint.findings import Applicability, Fix, Severity
from preflint.rule import DROP_ROW, RowRule

NOT_THE_DATA = Fix(Applicability.DISPLAY, "keep the row: the trainer made the sides equal; M010's fix repairs it")


class IdenticalAfterTruncation(RowRule):
    """Chosen and rejected differ, but not in what survives the trainer's truncation.

    ## What it does
    Compares the two sides' token ids and completion masks after the trainer profile's truncation, and reports
    pairs whose responses differ before truncation but are identical after it (usually two long responses that
    share their beginning). Also pairs whose replies differ but which the trainer's preprocessing makes identical
    (axolotl's chat_template types can turn both replies into `>`: M010).

    ## Why is this bad?
    The model gets the same sequence twice, so the DPO loss is exactly ln 2 = 0.6931 with no gradient, as for an
    identical pair. rlhf-book counted 352 of 5,000 UltraFeedback pairs like this at 512 tokens; OpenRLHF fixed
    its own pipeline for it (PR #1313).

    ## Example
    Two 900-token answers that differ only in their last paragraph, with `--max-length 512`.

    ## Fix safety
    Safe: the row is dropped; it carries no signal at this max-length. A pair whose replies the trainer altered
    (M010) is kept: M010's fix repairs it.
    """

    code = "M003"
    name = "identical-after-truncation"
    family = "mask"
    severity = Severity.ERROR
    fix = DROP_ROW
    needs_trainer = True

    def check(self, batch):
        for i, row in batch.trained():
            chosen, rejected = row.chosen, row.rejected
            if rejected is None:  # an unpaired row: one side
                continue
            if chosen.completion_ids == rejected.completion_ids:
                if batch.chosen_ids[i] != batch.rejected_ids[i] and chosen.completion_kept:  # the trainer did
                    altered = chosen.altered or rejected.altered
                    yield self.finding(
                        batch.rows[i],
                        f"both sides are the same {len(chosen.input_ids)} tokens as the trainer builds them, though "
                        f"the replies differ{' (M010 says how)' if altered else ''}",
                        NOT_THE_DATA if altered else None,
                        no_signal=batch.same_sides_no_signal,
                    )
                continue
            if (
                chosen.input_ids == rejected.input_ids
                and chosen.prompt_kept == rejected.prompt_kept
                and chosen.completion_kept
            ):
                yield self.finding(
                    batch.rows[i],
                    f"both sides are the same {len(chosen.input_ids)} tokens after truncation; they first differ "
                    f"at token {_first_difference(chosen.completion_ids, rejected.completion_ids)} of the response",
                    no_signal=batch.same_sides_no_signal,
                )


def _first_difference(a, b) -> int:
    return next((k for k, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
