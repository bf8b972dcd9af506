"""TRL's DPOTrainer (trl 1.16), transcribed and batched.

Source: trl/trainer/dpo_trainer.py, `DPOTrainer._prepare_dataset` (extract_prompt when there is no prompt, EOS
appended to text completions, `tokenize_fn`: prompt, prompt+chosen and prompt+rejected tokenized jointly, the
completion starting at their `common_prefix_length`; rows whose prompt fills `max_length` dropped under
`keep_start`) and `DataCollatorForPreference.torch_call` (prompt+completion truncated per sequence to
`max_length`, keep_start or keep_end; `completion_mask`). trl/data_utils.py: `extract_prompt`, `_tokenize`
(`processing_class(text=...)` with special tokens for text; `apply_chat_template(tokenize=True)`, i.e. the
rendered chat tokenized without added special tokens, for conversations). Defaults from trl/trainer/dpo_config.py:
max_length=1024, truncation_mode="keep_start". TRL 1.16 has no max_prompt_length or max_completion_length.
tests/trainers/test_trl_faithful.py runs TRL's own code on the shared real data and compares every row.
"""

from __future__ import annotations

from functools import partial

from preflint.errors import TemplateError
from preflint.trainers import (
    Altered,
    Profile,
    SystemIgnored,
    TrainerOptions,
    TrainerRow,
    Unprocessable,
    as_trl_text,
    common_prefix_length,
    no_chat_template,
    no_eos,
    replies_not_lists,
    side,
    template_raised,
    text_joinable,
)


def extract_prompt(chosen, rejected):
    """trl.data_utils.extract_prompt, quirks included (a prefix pair cuts one element early)."""
    for idx in range(min(len(chosen), len(rejected))):
        if chosen[idx] != rejected[idx]:
            if chosen[idx - 1] == " ":  # remove space before the prompt
                idx -= 1
            break
    return chosen[:idx], chosen[idx:], rejected[idx:]


PROMPT_TWICE = (
    "TRL takes the prompt column, then each whole dialogue after it, so the dialogue's own prompt turns are trained "
    "as part of the reply: remove the prompt column (TRL then extracts the prompt) or keep only the replies"
)


def no_messages(reply: str) -> Unprocessable:
    """TRL's `is_conversational` reads the first message of whichever of an example's columns a set yields first,
    and raises IndexError where that is an empty list: which column comes first is decided by Python's hash seed,
    drawn anew for each process unless PYTHONHASHSEED is set."""
    return Unprocessable(
        f"TRL raises on a {reply} of no messages (IndexError in is_conversational) whenever it looks at that column "
        "first, which Python's hash seed decides anew in each run; otherwise it trains no token of it: give it a "
        "message or remove the row"
    )


class TRLProfile(Profile):
    name = "trl"
    simulates = ("trl", "1.16")
    defaults = TrainerOptions(max_length=1024, truncation_mode="keep_start")
    supported = ("max_length", "truncation_mode")
    needs_chat_template = True  # TRL renders conversations with the tokenizer's template; it has no fallback
    needs_eos = True  # TRL pads with EOS when there is no pad token, and appends it to text replies
    places_images = True  # prepare_multimodal_messages: images before the first user message given as text

    def texts(self, pair, tokenizer):
        """prompt, prompt+chosen, prompt+rejected as TRL tokenizes them, and whether special tokens are added."""
        pair = pair.without_system  # TRL knows no `system` column
        if pair.prompt_column is not None:  # TRL takes a prompt column as it is, and extracts nothing
            if isinstance(pair.prompt_column, str):
                raise Unprocessable(
                    "TRL raises on a text prompt beside message responses (it takes one format for all three): "
                    + (
                        "remove the prompt column, the dialogues hold the prompt"
                        if pair.kind == "implicit"
                        else "give the prompt as messages"
                    ),
                    every_row=True,
                )
            prompt, chosen, rejected = (
                pair.prompt_column,
                pair.prompt + pair.chosen,
                pair.prompt_of_rejected + pair.rejected,
            )
        elif pair.replies_given_as:
            raise replies_not_lists("TRL", pair.replies_given_as, "it takes one format for all three")
        elif pair.kind == "implicit":  # no prompt column: TRL extracts one from the two whole dialogues
            prompt, chosen, rejected = extract_prompt(
                pair.prompt + pair.chosen, pair.prompt_of_rejected + pair.rejected
            )
        else:
            prompt, chosen, rejected = pair.prompt, pair.chosen, pair.rejected
        if pair.is_chat and not prompt:
            raise Unprocessable(
                "the two dialogues differ from their first message, so the prompt TRL extracts is empty, and TRL "
                "raises on an empty conversation"
            )
        if pair.is_chat and not (chosen and rejected):
            raise no_messages("reply")
        if pair.is_chat:
            render = partial(tokenizer.render_chat, **pair.template_args)  # a row's tools, chat_template_kwargs
            return (
                render(prompt, add_generation_prompt=True),
                render(prompt + chosen, add_generation_prompt=False),
                render(prompt + rejected, add_generation_prompt=False),
            ), False
        eos = tokenizer.hf.eos_token
        chosen = chosen if chosen.endswith(eos) else chosen + eos
        rejected = rejected if rejected.endswith(eos) else rejected + eos
        return (prompt, prompt + chosen, prompt + rejected), True

    def encode(self, batch, tokenizer):
        encoded: dict = {}
        if self.needs_chat_template and not tokenizer.has_chat_template:  # TRL raises on every conversation then
            chats = [i for i in batch.usable() if batch.pairs[i].without_system.is_chat]
            encoded = {i: no_chat_template("TRL") for i in chats}
        if self.needs_eos and tokenizer.hf.eos_token is None:
            missing = no_eos("TRL", "it pads with it when there is no pad token, and appends it to text replies")
            texts = [i for i in batch.usable() if not batch.pairs[i].without_system.is_chat]
            encoded |= {i: missing for i in (batch.usable() if tokenizer.hf.pad_token is None else texts)}
        encoded.update(self._joined(batch, tokenizer, skip=encoded))
        encoded.update(self._tokenized(batch, [i for i in batch.usable() if i not in encoded], tokenizer))
        rows: list[TrainerRow | None] = [None] * len(batch)
        for i, ids in encoded.items():
            if isinstance(ids, Unprocessable):
                rows[i] = TrainerRow.failing(ids)
                continue
            pair, row = batch.pairs[i], self.row(*ids)
            rows[i] = row
            if self.splits_like_preflint(pair):
                continue
            seen = pair.without_system  # the row as TRL reads it
            row.prompt_extracted = seen.kind == "implicit" and seen.prompt_column is None
            if seen.kind == "implicit" and seen.prompt_column is not None:  # a prompt column beside whole dialogues
                for _, inputs in row.sides():
                    inputs.altered = Altered(tokenizer.decode(inputs.completion_ids), PROMPT_TWICE)
            if pair.without_system_column is not None:
                row.system_ignored = SystemIgnored("TRL", as_text=not seen.is_chat)
                if not seen.is_chat:  # TRL's text path: the completions end with EOS, not the template's end of turn
                    row.ending = [tokenizer.hf.eos_token_id]
        return rows

    def column_note(self, fields):
        """TRL reads `prompt`, `chosen` and `rejected` by these names; preflint simulates it as if they were."""
        given = (("+".join(fields.prompt), "prompt"), (fields.chosen, "chosen"), (fields.rejected, "rejected"))
        renamed = [(column, name) for column, name in given if column and column != name]
        if not renamed:
            return None
        note = (
            "TRL reads its columns by name: checked as if "
            + ", ".join(f"{column} were {name}" for column, name in renamed)
            + f"; rename {'it' if len(renamed) == 1 else 'them'} before training"
        )
        if any(name == "prompt" for _, name in renamed):
            note += " (without a prompt column TRL takes the common start of chosen and rejected as the prompt)"
        return note

    def splits_like_preflint(self, pair) -> bool:
        """Whether this trainer's prompt and completions are the texts preflint rendered for the pair."""
        # else TRL extracts the prompt, takes the prompt column as it is, leaves out the system column, or raises on
        # replies not given as message lists
        return (
            pair.kind != "implicit"
            and pair.prompt_column is None
            and pair.without_system_column is None
            and not pair.replies_given_as
        )

    def _joined(self, batch, tokenizer, skip=()) -> dict[int, tuple[list[int], list[int], list[int]]]:
        """The trainer's ids built from the batch's own (each text is tokenized once): prompt, prompt+chosen,
        prompt+rejected, where the trainer's texts are the batch's texts joined. Other pairs are left out."""
        joinable = text_joinable(tokenizer)
        picked, pieces = [], []
        for i in batch.usable():
            pair = batch.pairs[i]
            if (
                i in skip
                or not batch.follows_prompt[i]
                or pair.rejected_prompt is not None
                or not self.splits_like_preflint(pair)
            ):
                continue
            if not pair.is_chat and not joinable:
                continue
            picked.append(i)
            for text, ids in ((batch.chosen[i], batch.chosen_ids[i]), (batch.rejected[i], batch.rejected_ids[i])):
                pieces.append((batch.prompt[i], batch.prompt_ids[i], text, ids))
        joined = tokenizer.join_ids(pieces)  # new lists, completed in place
        encoded = {}
        for k, i in enumerate(picked):
            prompt, chosen, rejected = batch.prompt_ids[i], joined[2 * k], joined[2 * k + 1]
            if not batch.pairs[i].is_chat:  # text: special tokens added, EOS appended (an added token: its ids follow)
                prompt = as_trl_text(tokenizer, list(prompt))
                chosen, rejected = (
                    as_trl_text(tokenizer, chosen, batch.chosen[i]),
                    as_trl_text(tokenizer, rejected, batch.rejected[i]),
                )
            encoded[i] = (prompt, chosen, rejected)
        return encoded

    def _tokenized(
        self, batch, positions, tokenizer
    ) -> dict[int, tuple[list[int], list[int], list[int]] | Unprocessable]:
        """The trainer's texts rendered and tokenized whole; for a row TRL raises on, why."""
        plain, special, encoded = [], [], {}
        for i in positions:
            try:
                texts, add_special = self.texts(batch.pairs[i], tokenizer)
            except Unprocessable as exc:
                encoded[i] = exc
                continue
            except TemplateError as exc:  # TRL renders other message lists than preflint: the prompt it extracted, ...
                encoded[i] = template_raised("TRL", exc)
                continue
            (special if add_special else plain).append((i, texts))
        for group, add_special in ((plain, False), (special, True)):
            flat = tokenizer.encode_many([text for _, texts in group for text in texts], add_special_tokens=add_special)
            for k, (i, _) in enumerate(group):
                encoded[i] = tuple(flat[3 * k : 3 * k + 3])
        return encoded

    def singles(self, batch, positions, tokenizer) -> dict[int, tuple[list[int], list[int]] | Unprocessable]:
        """Unpaired rows' prompt and prompt+completion ids as TRL's KTOTrainer tokenizes them (as its DPOTrainer
        does a side: EOS appended to a text completion, special tokens added to text), built from the batch's own
        ids where the texts join (each text tokenized once), else tokenized whole; for a row TRL raises on, why."""
        encoded: dict = {}
        if self.needs_chat_template and not tokenizer.has_chat_template:
            encoded = {i: no_chat_template("TRL") for i in positions if batch.samples[i].is_chat}
        if self.needs_eos and tokenizer.hf.eos_token is None:
            encoded |= {i: no_eos("TRL", "it appends it to text completions") for i in positions}
        joinable, picked, pieces, whole = text_joinable(tokenizer), [], [], []
        for i in positions:
            if i not in encoded and batch.samples[i].is_chat and not batch.samples[i].candidates[0].reply:
                encoded[i] = no_messages("completion")
            if i in encoded:
                continue
            if batch.follows_prompt[i] and (batch.samples[i].is_chat or joinable):
                picked.append(i)
                pieces.append((batch.prompt[i], batch.prompt_ids[i], batch.candidates[i][0], batch.candidate_ids[i][0]))
            else:
                whole.append(i)
        for i, joint in zip(picked, tokenizer.join_ids(pieces)):
            prompt = batch.prompt_ids[i]
            if not batch.samples[i].is_chat:
                prompt, joint = (
                    as_trl_text(tokenizer, list(prompt)),
                    as_trl_text(tokenizer, joint, batch.candidates[i][0]),
                )
            encoded[i] = (prompt, joint)
        for add_special in (False, True):
            group = [i for i in whole if batch.samples[i].is_chat is not add_special]
            texts = []
            for i in group:
                candidate = batch.samples[i].candidates[0]
                if add_special:
                    eos = tokenizer.hf.eos_token or ""
                    reply = candidate.reply if candidate.reply.endswith(eos) else candidate.reply + eos
                    texts += [candidate.prompt, candidate.prompt + reply]
                else:
                    render = tokenizer.render_chat
                    texts += [
                        render(candidate.prompt, add_generation_prompt=True),
                        render(candidate.prompt + candidate.reply, add_generation_prompt=False),
                    ]
            flat = tokenizer.encode_many(texts, add_special_tokens=add_special)
            encoded.update({i: (flat[2 * k], flat[2 * k + 1]) for k, i in enumerate(group)})
        return encoded

    def refuses_images(self):
        if self.options.max_length is not None and self.options.truncation_mode == "keep_end":
            return (
                "TRL raises before training on vision data with truncation_mode='keep_end' (\"keep_end may silently "
                'drop them", the image tokens at the start of the prompt): use keep_start or max_length=None'
            )
        return None

    def kept_positions(self, prompt, chosen, rejected):
        """DataCollatorForVisionPreference: prompt + reply cut to max_length, keeping the start (no row dropped)."""
        positions = list(range(prompt + max(chosen, rejected)))
        return self.row(positions[:prompt], positions[: prompt + chosen], positions[: prompt + rejected])

    def row(self, prompt: list[int], prompt_chosen: list[int], prompt_rejected: list[int]) -> TrainerRow:
        cut = min(common_prefix_length(prompt, prompt_chosen), common_prefix_length(prompt, prompt_rejected))
        options = self.options
        dropped = None
        if options.max_length is not None and options.truncation_mode == "keep_start" and cut >= options.max_length:
            dropped = f"TRL drops rows whose prompt fills max_length ({cut} ≥ {options.max_length} tokens)"
        return TrainerRow(  # prompt + completion is the joint tokenization itself: its first `cut` ids are the prompt's
            prompt_alone=prompt,
            chosen=side(prompt_chosen, cut, options),
            rejected=side(prompt_rejected, cut, options),
            dropped=dropped,
        )
