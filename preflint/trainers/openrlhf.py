"""OpenRLHF's DPO data path (OpenRLHF @3c3be62), transcribed and batched; OpenRLHF needs Ray and DeepSpeed, so
tests compare against a transcription of its functions rather than an import.

Source: openrlhf/datasets/reward_dataset.py: `preprocess_data` (with --apply_chat_template: prompt rendered with
the generation prompt and each completion cut from the rendered whole conversation; without a prompt key the
prompt is "" and the whole dialogue is the completion; the prompt's messages plus a response that is not a list
raise), `RewardDataset.process_data` (prompt tokenized alone,
without special tokens; rows whose prompt has at least max_len - 2 tokens are dropped) and `__getitem__`
(prompt + completion, trailing newlines stripped, " " + EOS appended unless present, tokenized without special
tokens, truncated to max_len, last id forced to EOS). openrlhf/trainer/dpo_trainer.py `_get_batch_logps`: the
loss mask is every attended position from prompt_id_len on. Default max_len 512 (openrlhf/cli/train_dpo.py).
"""

from __future__ import annotations

from preflint.errors import TemplateError
from preflint.trainers import (
    Profile,
    SideInput,
    SystemIgnored,
    TrainerOptions,
    TrainerRow,
    Unprocessable,
    no_chat_template,
    no_eos,
    replies_not_lists,
    template_raised,
    turn_ending,
)


class OpenRLHFProfile(Profile):
    name = "openrlhf"
    simulates = ("openrlhf", "0.11")
    defaults = TrainerOptions(max_length=512)
    supported = ("max_length",)

    def texts(self, pair, tokenizer) -> tuple[str, str, str]:
        pair = pair.without_system  # preprocess_data reads no `system` column
        if pair.is_chat:
            if not tokenizer.has_chat_template:
                raise no_chat_template("OpenRLHF (--apply_chat_template)")
            if pair.replies_given_as:
                raise replies_not_lists("OpenRLHF", pair.replies_given_as, "it adds each response to the prompt's list")
            render = tokenizer.render_chat
            dialogues = (pair.prompt + pair.chosen, pair.prompt_of_rejected + pair.rejected)
            if pair.kind == "implicit":  # no prompt key: the prompt is the chosen dialogue but its last message
                prompt = render(dialogues[0][:-1], add_generation_prompt=True)
            else:
                prompt = render(pair.prompt, add_generation_prompt=True)
            chosen, rejected = (render(dialogue, add_generation_prompt=False)[len(prompt) :] for dialogue in dialogues)
            return prompt, chosen, rejected
        if pair.kind == "implicit":  # no prompt key: OpenRLHF trains on the whole dialogue
            return "", pair.prompt + pair.chosen, pair.prompt_of_rejected + pair.rejected
        return pair.prompt, pair.chosen, pair.rejected

    def encode(self, batch, tokenizer):
        eos = tokenizer.hf.eos_token
        if eos is None:  # it appends EOS to every sequence and ends each one with its id
            missing = TrainerRow.failing(no_eos("OpenRLHF", "it appends it to every prompt and response"))
            return [missing if pair is not None else None for pair in batch.pairs]
        positions, texts, failures = [], [], {}
        for i in batch.usable():
            try:
                prompt, chosen, rejected = self.texts(batch.pairs[i], tokenizer)
            except TemplateError as exc:  # OpenRLHF renders other message lists than preflint (the chosen but its last)
                failures[i] = template_raised("OpenRLHF", exc)
                continue
            except Unprocessable as exc:
                failures[i] = exc
                continue
            positions.append(i)
            sequences = [(prompt + completion).rstrip("\n") for completion in (chosen, rejected)]
            texts += [prompt] + [text if text.endswith(eos) else text + " " + eos for text in sequences]
        ids = tokenizer.encode_many(texts)
        chat_ending = turn_ending(tokenizer, strip="\n", joiner=" ")  # a rendered turn's newline is stripped too
        rows: list[TrainerRow | None] = [None] * len(batch)
        for k, i in enumerate(positions):
            rows[i] = self.row(*ids[3 * k : 3 * k + 3], eos_id=tokenizer.hf.eos_token_id)
            pair = batch.pairs[i]
            seen = pair.without_system  # the row as OpenRLHF reads it
            if seen.is_chat:
                rows[i].ending = chat_ending
            if pair.without_system_column is not None:
                rows[i].system_ignored = SystemIgnored("OpenRLHF", as_text=not seen.is_chat)
        for i, error in failures.items():
            rows[i] = TrainerRow.failing(error)
        return rows

    def row(self, prompt: list[int], chosen: list[int], rejected: list[int], *, eos_id: int) -> TrainerRow:
        max_length = self.options.max_length
        prompt_len = len(prompt[:max_length])
        dropped = None
        if prompt_len >= max_length - 2:
            dropped = (
                f"OpenRLHF drops rows whose prompt has at least max_len - 2 tokens ({prompt_len} ≥ {max_length - 2})"
            )

        def one_side(joint: list[int]) -> SideInput:
            ids = joint[:max_length]
            ids = ids[:-1] + [eos_id]  # "to avoid EOS_token truncation"
            return SideInput(joint, prompt_len, ids, min(prompt_len, len(ids)))

        return TrainerRow(prompt, one_side(chosen), one_side(rejected), dropped)
