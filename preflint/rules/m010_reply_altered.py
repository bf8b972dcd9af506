from preflint.findings import Applicability, Edit, Fix, Severity
from preflint.reasoning import reply_parts
from preflint.rule import RowRule
from preflint.text import quoted_start

STRIP_FIX = Fix(
    Applicability.UNSAFE,
    "strip the replies' surrounding whitespace: the chat template drops it anyway",
    Edit(str.strip),
)
NO_EDIT = Fix(
    Applicability.DISPLAY, "no edit of the data is sure to help: change the template, the dataset type or the columns"
)
REASONING_FIX = Fix(
    Applicability.DISPLAY,
    "train with a chat template that keeps the final reply's reasoning (a training variant of the model's template, "
    "given to the trainer and to preflint with --chat-template), or remove the reasoning from the replies",
)
SHOWN = 40


class ReplyAltered(RowRule):
    """The trainer trains on something other than the reply in the data.

    ## What it does
    Reports sides whose completion, as the trainer profile builds it, is not the data's reply. axolotl's
    `chat_template.default` and `argilla_chat` dataset types (`--trainer axolotl`) cut each reply out of a rendered
    chat by searching for the reply's text: a reply the template trims (Llama 3's and Gemma's templates strip
    surrounding whitespace) is not found and becomes the rendering's last character, such as `>`; a reply whose
    text also occurs earlier in the rendering (a role name, the dummy turn axolotl adds) brings the template's
    text with it. And TRL 1.8, which axolotl runs, starts each completion after as many tokens as the prompt has
    alone: where the prompt's last token and the reply's first merge (a generation prompt ending in a space),
    the reply loses its first word. TRL (`--trainer trl`) given a prompt column beside chosen and rejected
    dialogues that hold the prompt too (UltraFeedback's shape, with the prompt as messages) renders the prompt
    and then each whole dialogue, so the dialogue's prompt turns are trained as part of the reply. And with any
    trainer, a reasoning model's chat template may leave a reply's reasoning (`<think>…</think>` before the
    answer, or a message's `reasoning_content`) out of what is trained: DeepSeek-R1's templates keep only what
    follows `</think>` in every assistant turn, the final one included.

    ## Why is this bad?
    The model is trained on a completion nobody wrote; a reasoning model trained on answers without their
    reasoning learns to answer without thinking, and a preference that lies in the reasoning is lost. When both
    replies of a pair collapse to the same character the pair is identical as trained (M003) and its loss stays at
    ln 2; HH-RLHF's replies all start with a space, so with a Llama 3 tokenizer every one of its pairs does.

    ## Example
    ```jsonl
    {"prompt": "Capital of France?", "chosen": " Paris.", "rejected": " Rome."}
    ```
    with `--trainer axolotl` and the Llama 3 template: both replies are trained as `>`.

    ## Fix safety
    Unsafe, for replies the template trims: their surrounding whitespace is stripped, which the template drops
    anyway, but other templates and text trainers may want it kept. A reply found in the wrong place, or cut
    inside a merged token, has no edit that is sure to help: give axolotl prompt, chosen and rejected as text with
    a type that formats them (`llama3.prompt_pairs`, `chatml.prompt_pairs`), or a template whose generation prompt
    ends on a token boundary. For TRL, remove the prompt column, or keep only the replies in chosen and rejected.
    Reasoning a template drops has no edit either: train with a template that keeps the final reply's reasoning.
    """

    code = "M010"
    name = "reply-altered"
    family = "mask"
    severity = Severity.ERROR
    fix = STRIP_FIX
    needs_trainer = True

    def check(self, batch):
        for i, row in batch.trained():
            altered = [(side, inputs.altered) for side, inputs in row.sides() if inputs.altered]
            if not altered:
                dropped = _reasoning_dropped(batch, i, row)
                if dropped:
                    yield self.finding(batch.rows[i], dropped, REASONING_FIX)
                continue
            (_, first), (_, last) = altered[0], altered[-1]
            if len(altered) == 2 and first.why == last.why:
                trained = quoted_start(first.text, SHOWN)
                if last.text != first.text:
                    trained += f" and {quoted_start(last.text, SHOWN)}"
                message = f"both replies are trained as {trained}: {first.why}"
            else:
                message = "; ".join(
                    f"the {side} reply is trained as {quoted_start(a.text, SHOWN)}: {a.why}" for side, a in altered
                )
            strippable = all(a.strippable for _, a in altered)
            yield self.finding(batch.rows[i], message, STRIP_FIX if strippable else NO_EDIT)


def _reasoning_dropped(batch, i, row) -> str | None:
    """What to say of the sides whose reasoning the trainer's completion leaves out (a template that drops it)."""
    pair, decode, missing = batch.pairs[i], batch.tokenizer.decode, []
    replies = (
        {"chosen": pair.chosen, "rejected": pair.rejected}
        if pair is not None
        else {"completion": batch.samples[i].candidates[0].reply}  # an unpaired (KTO) row
    )
    for side, inputs in row.sides():
        reasoning = reply_parts(replies[side]).reasoning
        if reasoning is None or not reasoning.strip():
            continue
        if " ".join(reasoning.split()) not in " ".join(decode(inputs.completion_ids).split()):
            missing.append((side, reasoning.strip()))
    if not missing:
        return None
    sides = " and ".join(f"the {side} reply's reasoning ({quoted_start(text, SHOWN)})" for side, text in missing)
    return (
        f"{sides} {'is' if len(missing) == 1 else 'are'} not in what the model is trained on: the chat template (or "
        "the trainer's rendering) leaves it out, so the model is trained to answer without the reasoning"
    )
