"""TRL's KTOTrainer (trl 1.16), transcribed and batched.

Source: trl/trainer/kto_trainer.py, `KTOTrainer._prepare_dataset`: extract_prompt when there is no prompt column,
`unpair_preference_dataset` for pairs (chosen desirable, rejected undesirable, one example each), EOS appended to
text completions, `tokenize_fn` (prompt and prompt+completion tokenized as the DPOTrainer does; the completion
starts at their `common_prefix_length`, and the prompt is cut there), examples whose prompt fills `max_length`
dropped; `DataCollatorForUnpairedPreference.torch_call`: prompt+completion cut to `max_length`, keeping the start
(KTO has no truncation mode). Defaults from trl/trainer/kto_config.py: max_length=1024.
tests/trainers/test_kto_faithful.py runs TRL's own code and compares every row.
"""

from __future__ import annotations

from preflint.trainers import TrainerOptions, TrainerRow, common_prefix_length, side
from preflint.trainers.trl import TRLProfile


class KTOProfile(TRLProfile):
    name = "kto"
    defaults = TrainerOptions(max_length=1024, truncation_mode="keep_start")
    supported = ("max_length",)
    trains_pairs = False

    def samples_note(self, fields):
        """TRL's KTOTrainer reads `prompt`, `completion` and `label` by name (and pairs, which it unpairs)."""
        if fields.form != "unpaired":
            return "TRL's KTOTrainer unpairs pairs: checked on the pair best-vs-worst makes of each row, unpaired"
        given = (("+".join(fields.prompt), "prompt"), (fields.candidates[0], "completion"), (fields.label, "label"))
        renamed = [f"{column} were {name}" for column, name in given if column and column != name]
        if not renamed:
            return None
        return (
            "TRL's KTOTrainer reads prompt, completion and label by name: checked as if "
            + ", ".join(renamed)
            + " (a dialogue's last assistant turn the completion, the turns before it the prompt)"
        )

    def row(self, prompt: list[int], prompt_chosen: list[int], prompt_rejected: list[int]) -> TrainerRow:
        """A pair, unpaired: its chosen and its rejected are two examples, each with its own prompt cut."""
        chosen, rejected = self.example(prompt, prompt_chosen), self.example(prompt, prompt_rejected)
        return TrainerRow(prompt, chosen.chosen, rejected.chosen, dropped=chosen.dropped or rejected.dropped)

    def example(self, prompt: list[int], joint: list[int]) -> TrainerRow:
        """One example: the completion starts where the prompt's ids and the joint ids part (TRL keeps the prompt's
        ids up to there); dropped where that prompt fills max_length."""
        cut = common_prefix_length(prompt, joint)
        limit = self.options.max_length
        dropped = None
        if limit is not None and cut >= limit:
            dropped = f"TRL's KTOTrainer drops examples whose prompt fills max_length ({cut} ≥ {limit} tokens)"
        return TrainerRow(prompt, side(joint, cut, self.options), None, dropped=dropped)

    def encode_unpaired(self, batch, positions, tokenizer, rows):
        for i, ids in self.singles(batch, positions, tokenizer).items():
            rows[i] = TrainerRow.failing(ids) if isinstance(ids, Exception) else self.example(*ids)
