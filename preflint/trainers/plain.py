"""No particular trainer: the pair tokenized the way TRL does, with preflint's own prompt split and no truncation
unless asked for. The default profile, so M-rules see the data itself rather than one trainer's limits.

Options: max_length (with truncation_mode), max_prompt_length (keeps the end of the prompt, next to the
completion) and max_completion_length (keeps the start of each completion), as older TRL releases and many
custom trainers have them.
"""

from __future__ import annotations

from functools import partial

from preflint.trainers import (
    SideInput,
    TrainerOptions,
    TrainerRow,
    common_prefix_length,
    truncate,
)
from preflint.trainers.trl import TRLProfile


class PlainProfile(TRLProfile):
    name = "plain"
    simulates = None  # no trainer: TRL's tokenization with preflint's own prompt split
    defaults = TrainerOptions()
    supported = ("max_length", "max_prompt_length", "max_completion_length", "truncation_mode")
    needs_chat_template = False  # renders conversations as preflint does, 'role: content' without a template
    needs_eos = False  # a text reply ends with EOS where the tokenizer has one
    places_images = False  # no trainer: a row's images need their placeholders

    def refuses_images(self):
        return None

    def splits_like_preflint(self, pair) -> bool:
        return True

    def column_note(self, fields):
        return None  # no trainer reads these columns by name: TRL's note would mislead

    def samples_note(self, fields):
        return None

    def texts(self, pair, tokenizer):
        if pair.is_chat:
            render = partial(tokenizer.render_chat, **pair.template_args)  # a row's tools, chat_template_kwargs
            return (
                render(pair.prompt, add_generation_prompt=True),
                render(pair.prompt + pair.chosen, add_generation_prompt=False),
                render(pair.prompt + pair.rejected, add_generation_prompt=False),
            ), False
        eos = tokenizer.hf.eos_token or ""
        chosen = pair.chosen if pair.chosen.endswith(eos) else pair.chosen + eos
        rejected = pair.rejected if pair.rejected.endswith(eos) else pair.rejected + eos
        return (pair.prompt, pair.prompt + chosen, pair.prompt + rejected), True

    def row(self, prompt, prompt_chosen, prompt_rejected) -> TrainerRow:
        options = self.options
        cut = min(common_prefix_length(prompt, prompt_chosen), common_prefix_length(prompt, prompt_rejected))
        shortened = options.max_prompt_length is not None or options.max_completion_length is not None
        if shortened:  # else the input is the joint ids themselves: no copies
            kept_prompt = (
                prompt[:cut]
                if options.max_prompt_length is None
                else prompt[max(0, cut - options.max_prompt_length) : cut]
            )

        def one_side(joint: list[int]) -> SideInput:
            ids, prompt_kept = joint, cut
            if shortened:
                ids = kept_prompt + joint[cut:][: options.max_completion_length]
                prompt_kept = len(kept_prompt)
            return SideInput(joint, cut, *truncate(ids, prompt_kept, options.max_length, options.truncation_mode))

        return TrainerRow(prompt, one_side(prompt_chosen), one_side(prompt_rejected))

    def encode_unpaired(self, batch, positions, tokenizer, rows):
        """An unpaired row as one side of a pair: its completion after its prompt, tokenized the same way."""
        for i, ids in self.singles(batch, positions, tokenizer).items():
            if isinstance(ids, Exception):
                rows[i] = TrainerRow.failing(ids)
            else:
                whole = self.row(ids[0], ids[1], ids[1])
                rows[i] = TrainerRow(whole.prompt_alone, whole.chosen, None)
