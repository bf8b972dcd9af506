from preflint.findings import Severity
from preflint.rule import RowRule
from preflint.text import quoted_start


class PromptMismatch(RowRule):
    """Chosen and rejected do not answer the same prompt.

    ## What it does
    For dialogues with an implicit prompt (HH-RLHF style) and for conversations, compares everything before
    the final assistant turn on both sides and reports pairs where it differs, with where it diverges (prompts
    that differ only in their images are V004's).

    ## Why is this bad?
    DPO compares two completions of one prompt. Trainers that extract the prompt as the longest common prefix
    (TRL's `extract_prompt`) then cut it in mid-dialogue, and the "completions" include earlier turns, so the
    loss rewards whole conversation histories instead of one reply.

    ## Example
    ```jsonl
    {"chosen": "\\n\\nHuman: Hi\\n\\nAssistant: Hey\\n\\nHuman: Joke?\\n\\nAssistant: ...",
     "rejected": "\\n\\nHuman: Hi\\n\\nAssistant: Hello\\n\\nHuman: Joke?\\n\\nAssistant: ..."}
    ```

    ## Fix safety
    No automatic fix: which of the two prompts is the right one is a judgement call.
    """

    code = "M008"
    name = "prompt-mismatch"
    family = "mask"
    severity = Severity.ERROR

    def check(self, batch):
        for i in batch.usable():
            pair = batch.pairs[i]
            if pair.rejected_prompt is not None and _without_media(pair.prompt) != _without_media(pair.rejected_prompt):
                yield self.finding(batch.rows[i], _divergence(pair.prompt, pair.rejected_prompt))


def _without_media(prompt):
    """A prompt without its messages' media: prompts that differ only in their images are V004's."""
    if isinstance(prompt, str):
        return prompt
    return [{key: value for key, value in message.items() if key not in ("media", "media_at")} for message in prompt]


def _divergence(chosen_prompt, rejected_prompt) -> str:
    unit = "character" if isinstance(chosen_prompt, str) else "message"
    at = next(
        (k for k, (a, b) in enumerate(zip(chosen_prompt, rejected_prompt)) if a != b),
        min(len(chosen_prompt), len(rejected_prompt)),
    )
    if at == min(len(chosen_prompt), len(rejected_prompt)):
        longer, extra = (
            ("chosen", chosen_prompt) if len(chosen_prompt) > len(rejected_prompt) else ("rejected", rejected_prompt)
        )
        return (
            f"the {longer} side has more turns before its final reply: the two agree up to {unit} {at}, "
            f"then {longer} goes on with {_excerpt(extra[at:])}"
        )
    return (
        f"the two sides diverge before the final reply, at {unit} {at}: "
        f"chosen {_excerpt(chosen_prompt[at:])} vs rejected {_excerpt(rejected_prompt[at:])}"
    )


def _excerpt(rest) -> str:
    if isinstance(rest, str):
        return quoted_start(rest, 40)
    return f"{rest[0]['role']} message {quoted_start(rest[0]['content'], 40)}"
