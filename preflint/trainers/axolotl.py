"""axolotl's DPO data path for its `chat_template.default` dataset type (axolotl @067b021, which pins trl 1.8.0),
transcribed and batched; importing axolotl needs its whole training stack, so tests compare against a
transcription of its functions and run TRL's own tokenization helper.

Source: src/axolotl/prompt_strategies/dpo/chat_template.py `default` (and `argilla_chat`, the same for whole
conversations): the prompt messages rendered with the generation prompt; each reply rendered after a dummy user
turn and cut from where its text is first *found* in that rendering, trailing whitespace stripped. A reply the
template changes as it renders it (Llama 3's and Gemma's templates trim it) is not found: `str.find` gives -1 and
the reply becomes the rendering's last character. A reply whose text occurs earlier in the rendering (in the
dummy turn, a role name) takes the template's text from there on with it. src/axolotl/utils/data/rl.py
`_drop_long_sequences` (`excess_length_strategy: drop`, the default): a row whose prompt plus either reply,
tokenized without special tokens, exceeds sequence_len is dropped. core/trainers/dpo/__init__.py: DPOConfig's
max_length is sequence_len (default 512, utils/schemas/config.py).

Then TRL 1.8.0, trl/trainer/dpo_trainer.py `_prepare_dataset` on text rows: EOS appended to a reply that does not
end with it; prompt, prompt+chosen and prompt+rejected tokenized with special tokens (trl/data_utils.py
`_tokenize`: `processing_class(text=...)`, so a template that writes BOS gets a second one from the tokenizer;
`AxolotlDPOTrainer._tokenize` would remove it, but TRL 1.8 calls the module's function, not the method); the
completion is prompt+reply's ids after len(prompt ids), whatever the prompt's own ids were;
`DataCollatorForPreference` truncates prompt + completion to max_length, keeping the start.
"""

from __future__ import annotations

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
    side,
    template_raised,
    text_joinable,
    turn_ending,
)

DUMMY_TURN = {"role": "user", "content": "[[dummy_message]]"}
SENTINEL = "PREFLINT-AXOLOTL-REPLY"


class AxolotlProfile(Profile):
    name = "axolotl"
    simulates = ("axolotl", "0.18")
    defaults = TrainerOptions(max_length=512)
    supported = ("max_length",)

    def encode(self, batch, tokenizer):
        reply_start = _reply_start(tokenizer)
        positions, texts, failures = [], [], {}
        for i in batch.usable():
            try:
                texts.append(self.texts(batch.pairs[i], tokenizer, reply_start))
                positions.append(i)
            except Unprocessable as exc:
                failures[i] = exc
        cut = [(prompt, chosen, rejected) for prompt, (chosen, _), (rejected, _) in texts]
        plain = tokenizer.encode_many([text for row in cut for text in row])
        trl_ids = self._as_trl(tokenizer, cut, plain)
        ending = turn_ending(tokenizer, strip=None)  # the reply's trailing whitespace is stripped, EOS appended
        rows: list[TrainerRow | None] = [None] * len(batch)
        for k, (i, (_, (_, chosen_altered), (_, rejected_altered))) in enumerate(zip(positions, texts)):
            prompt_len, chosen_len, rejected_len = map(len, plain[3 * k : 3 * k + 3])
            prompt_ids, chosen_ids, rejected_ids = trl_ids[k]
            rows[i] = self.row(prompt_ids, chosen_ids, rejected_ids, longest=prompt_len + max(chosen_len, rejected_len))
            rows[i].chosen.altered = chosen_altered or _cut_in_a_token(tokenizer, prompt_ids, chosen_ids)
            rows[i].rejected.altered = rejected_altered or _cut_in_a_token(tokenizer, prompt_ids, rejected_ids)
            rows[i].ending = ending
            if batch.pairs[i].without_system_column is not None:  # its types wrap a text prompt in a user message
                rows[i].system_ignored = SystemIgnored("axolotl", as_text=False)
        for i, error in failures.items():
            rows[i] = TrainerRow.failing(error)
        return rows

    @staticmethod
    def _as_trl(tokenizer, texts: list[tuple[str, str, str]], plain: list[list[int]]) -> list[tuple[list[int], ...]]:
        """TRL's prompt, prompt+chosen and prompt+rejected ids of each (prompt, chosen, rejected), built from the
        texts' own ids (`plain`, three per row) where the tokenizer allows, else tokenized whole."""
        if text_joinable(tokenizer):
            pieces = [
                (prompt, plain[3 * k], reply, plain[3 * k + offset])
                for k, (prompt, *replies) in enumerate(texts)
                for offset, reply in enumerate(replies, 1)
            ]
            joined = tokenizer.join_ids(pieces)
            return [
                (
                    as_trl_text(tokenizer, list(plain[3 * k])),
                    as_trl_text(tokenizer, joined[2 * k], chosen),
                    as_trl_text(tokenizer, joined[2 * k + 1], rejected),
                )
                for k, (_, chosen, rejected) in enumerate(texts)
            ]
        eos = tokenizer.hf.eos_token or ""
        whole = [
            (prompt, *(prompt + reply + ("" if reply.endswith(eos) else eos) for reply in replies))
            for prompt, *replies in texts
        ]
        ids = tokenizer.encode_many([text for row in whole for text in row], add_special_tokens=True)
        return [tuple(ids[3 * k : 3 * k + 3]) for k in range(len(texts))]

    def texts(self, pair, tokenizer, reply_start: int | None):
        """axolotl's prompt, and each reply as axolotl cuts it with why that changed it (None: it did not)."""
        pair = pair.without_system  # its chat_template types read no `system` column
        if not tokenizer.has_chat_template:
            raise no_chat_template("axolotl's chat_template type")
        if [] in (pair.chosen, pair.rejected):
            raise Unprocessable("axolotl takes the last message of each reply, and one reply has no message")
        replies = [_last_message(completion) for completion in (pair.chosen, pair.rejected)]
        if not all(isinstance(reply["content"], str) for reply in replies):
            raise Unprocessable("axolotl searches the rendered chat for the reply's text, and this reply is not text")
        if not pair.is_chat:
            prompt = [{"role": "user", "content": pair.prompt}]
        elif pair.kind == "implicit":  # argilla_chat: the chosen dialogue but its last message, for both replies
            prompt = (pair.prompt + pair.chosen)[:-1]
        else:
            prompt = pair.prompt
        try:
            rendered_prompt = tokenizer.render_chat([_role_and_content(m) for m in prompt], add_generation_prompt=True)
            return rendered_prompt, *(_cut_reply(tokenizer, reply, reply_start) for reply in replies)
        except TemplateError as exc:  # the template's failure is axolotl's failure on this row
            raise template_raised("axolotl", exc) from exc

    def row(
        self, prompt: list[int], prompt_chosen: list[int], prompt_rejected: list[int], *, longest: int
    ) -> TrainerRow:
        cut = len(prompt)  # TRL 1.8: the completion is what follows len(prompt ids), even where the ids disagree
        dropped = None
        if longest > self.options.max_length:
            dropped = (
                f"axolotl drops rows longer than sequence_len (prompt + reply: {longest} > {self.options.max_length} "
                "tokens)"
            )
        return TrainerRow(
            prompt_alone=prompt,
            chosen=side(prompt + prompt_chosen[cut:], cut, self.options),
            rejected=side(prompt + prompt_rejected[cut:], cut, self.options),
            dropped=dropped,
        )


def _role_and_content(message: dict) -> dict:
    return {"role": message["role"], "content": message["content"]}


def _last_message(completion) -> dict:
    """axolotl's reply: a string is one assistant message; of a message list, the last message only."""
    return (
        {"role": "assistant", "content": completion}
        if isinstance(completion, str)
        else _role_and_content(completion[-1])
    )


def _reply_start(tokenizer) -> int | None:
    """Where a reply's text starts in the rendering of the dummy turn and the reply, if the template renders the
    same text before any reply: what axolotl's search should find."""
    try:
        rendered = tokenizer.render_chat(
            [DUMMY_TURN, {"role": "assistant", "content": SENTINEL}], add_generation_prompt=False
        )
    except TemplateError:  # each row's own rendering reports the template's failure
        return None
    return rendered.find(SENTINEL) if SENTINEL in rendered else None


def _cut_in_a_token(tokenizer, prompt: list[int], joint: list[int]) -> Altered | None:
    """What is trained, and why, where TRL 1.8's cut at the prompt's length falls inside the reply: the prompt's last
    token and the reply's first merged into one, so the reply loses its start."""
    merged = common_prefix_length(prompt, joint)
    if merged == len(prompt):
        return None
    return Altered(
        tokenizer.decode(joint[len(prompt) :]),
        "the prompt's end and the reply's start are one token together "
        f"({tokenizer.decode(joint[merged : merged + 1])!r}), "
        "and TRL 1.8 starts the completion after as many tokens as the prompt has alone",
    )


def _cut_reply(tokenizer, message: dict, reply_start: int | None) -> tuple[str, Altered | None]:
    """The reply as axolotl cuts it from the rendered chat, and what is trained instead, and why, if that is not
    the reply as rendered."""
    content = message["content"]
    rendered = tokenizer.render_chat([DUMMY_TURN, message], add_generation_prompt=False)
    found = rendered.find(content)
    cut = rendered[found:].rstrip()
    if found == -1:
        trimmed = content.strip() != content and content.strip() in rendered
        how = "trims the reply's surrounding whitespace" if trimmed else "does not render the reply's text as written"
        why = (
            f"the chat template {how}, so axolotl does not find the reply in the rendered chat and keeps only its "
            "last character"
        )
        return cut, Altered(cut, why, strippable=trimmed)
    if reply_start is not None and found < reply_start:
        return cut, Altered(
            cut,
            "the reply's text also occurs earlier in the rendered chat, where axolotl's search finds it, so the "
            "template's text from there on is trained as the reply",
        )
    return cut, None
