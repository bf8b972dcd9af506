"""LLaMA-Factory's pairwise (DPO/ORPO/RM) data path (LLaMA-Factory @ff6d4d1), transcribed; tests compare against a
transcription of its functions (importing it pulls its whole training stack).

Source: src/llamafactory/data/converter.py (with `ranking: true`, the alpaca converter reads a pair from two texts
and the sharegpt one from two single messages; any other row reaches the processor without one, and is dropped),
src/llamafactory/data/processor/pairwise.py `PairwiseDatasetProcessor.preprocess_dataset` (rows whose
prompt is not an odd number of turns are dropped) and `_encode_data_example` (prompt and each response encoded
separately with `template.encode_oneturn`; `infer_seqlen` splits cutoff_len between prompt and response, keeping
the *start* of the prompt; input = prompt + response, labels mask the prompt); processor_utils.py `infer_seqlen`;
template.py `Template._encode` and `_convert_elements_to_ids` (every message, and every string slot of it,
tokenized on its own without special tokens; BOS from the prefix slot) and the `llama3` template (content is not
trimmed, unlike the Hugging Face template). Default cutoff_len 2048 (hparams/data_args.py). With a tokenizer
that is not Llama 3, or a chat template given with --chat-template (LLaMA-Factory's `template:` is the user's
choice), that chat template stands in for LLaMA-Factory's template.
"""

from __future__ import annotations

from preflint.errors import TemplateError
from preflint.shapes.pairs import FORMAT_NAMES
from preflint.trainers import (
    Profile,
    SideInput,
    TrainerOptions,
    TrainerRow,
    Unprocessable,
    template_raised,
)

LLAMA3_USER = (
    "<|start_header_id|>user<|end_header_id|>\n\n{}<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n"
)
LLAMA3_ASSISTANT = "{}<|eot_id|>"
LLAMA3_SYSTEM = "<|start_header_id|>system<|end_header_id|>\n\n{}<|eot_id|>"
LLAMA3_TOOL = (
    "<|start_header_id|>ipython<|end_header_id|>\n\n{}<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n"
)


def infer_seqlen(source_len: int, target_len: int, cutoff_len: int) -> tuple[int, int]:
    """processor_utils.infer_seqlen: the response is considered more important."""
    if target_len * 2 < cutoff_len:
        max_target_len = cutoff_len
    elif source_len * 2 < cutoff_len:
        max_target_len = cutoff_len - source_len
    else:
        max_target_len = int(cutoff_len * (target_len / (source_len + target_len)))
    new_target_len = min(max_target_len, target_len)
    new_source_len = min(max(cutoff_len - new_target_len, 0), source_len)
    return new_source_len, new_target_len


class LlamaFactoryProfile(Profile):
    name = "llamafactory"
    simulates = ("llamafactory", "0.9.6")
    defaults = TrainerOptions(max_length=2048)
    supported = ("max_length",)

    def encode(self, batch, tokenizer):
        llama3 = "<|start_header_id|>" in tokenizer.hf.get_vocab() and not tokenizer.template_chosen
        rows: list[TrainerRow | None] = [None] * len(batch)
        for i in batch.usable():
            pair = batch.pairs[i]
            if unread := _not_converted(pair):
                rows[i] = TrainerRow.failing(unread)
                continue
            system, prompt = _split_system(pair.prompt if pair.is_chat else [{"role": "user", "content": pair.prompt}])
            responses = [_text(pair.chosen), _text(pair.rejected)]
            if llama3:
                prompt_ids, response_ids = _llama3(tokenizer, system, prompt, responses)
            else:
                try:
                    prompt_ids, response_ids = _chat_template(tokenizer, system, prompt, responses)
                except TemplateError as exc:  # LLaMA-Factory renders other message lists than preflint
                    rows[i] = TrainerRow.failing(template_raised("LLaMA-Factory", exc))
                    continue
            rows[i] = self.row(prompt_ids, *response_ids, valid=len(prompt) % 2 == 1)
            if not llama3 and not pair.is_chat:  # a text pair is a chat to LLaMA-Factory: its replies end the turn
                rows[i].ending = tokenizer.turn_suffix_ids
        return rows

    def kept_positions(self, prompt, chosen, rejected):
        """mm_plugin.process_messages expands each <image> before encoding; infer_seqlen then cuts the whole."""
        positions = list(range(prompt + max(chosen, rejected)))
        return self.row(
            positions[:prompt], positions[prompt : prompt + chosen], positions[prompt : prompt + rejected], valid=True
        )

    def row(self, prompt_ids, chosen_ids, rejected_ids, *, valid: bool) -> TrainerRow:
        source_len, target_len = infer_seqlen(
            len(prompt_ids), max(len(chosen_ids), len(rejected_ids)), self.options.max_length
        )
        kept_prompt = prompt_ids[:source_len]

        def one_side(response: list[int]) -> SideInput:
            kept = response[:target_len]
            return SideInput(prompt_ids + response, len(prompt_ids), kept_prompt + kept, len(kept_prompt))

        dropped = (
            None
            if valid
            else "LLaMA-Factory drops rows whose prompt is not an odd number of turns (user first, user last)"
        )
        return TrainerRow(prompt_ids, one_side(chosen_ids), one_side(rejected_ids), dropped)


# converter.py: beside a text prompt the alpaca converter reads a pair from two texts, beside a list of messages the
# sharegpt one from two single messages; any other row becomes an example the pairwise processor drops.
CONVERTERS = {  # the prompt's format: the converter, the prompt, the replies' format and what the pair is
    "text": ("alpaca", "a text prompt", "text", "two texts"),
    "messages": ("sharegpt", "a prompt of messages", "message", "two single messages"),
}


def _not_converted(pair) -> Unprocessable | None:
    """Why LLaMA-Factory's converter takes no pair from this row, if it does not."""
    if pair.formats is None or pair.formats[0] not in CONVERTERS:
        return None
    converter, prompt, wanted, pair_of = CONVERTERS[pair.formats[0]]
    odd = next((given for given in pair.formats[1:] if given != wanted), None)
    if odd is None:
        return None
    return Unprocessable(
        f'LLaMA-Factory\'s {converter} converter takes no pair from this row ("Dropped invalid example"; with none '
        f"left, it stops): beside {prompt} it reads {pair_of}, and a response here is {FORMAT_NAMES[odd]}",
        every_row=True,
    )


def _split_system(messages: list[dict]) -> tuple[str, list[dict]]:
    if messages and messages[0]["role"] == "system":
        return messages[0]["content"], messages[1:]
    return "", messages


def _text(completion) -> str:
    return completion if isinstance(completion, str) else "".join(m["content"] for m in completion)


def _llama3(tokenizer, system: str, prompt: list[dict], responses: list[str]):
    slots: list[str] = []
    for index, message in enumerate(prompt):
        slot = []
        if index == 0 and system:
            slot.append(LLAMA3_SYSTEM.format(system))
        template = {"user": LLAMA3_USER, "assistant": LLAMA3_ASSISTANT}.get(message["role"], LLAMA3_TOOL)
        slot.append(template.format(message["content"]))
        slots += slot
    ids = tokenizer.encode_many(slots + [LLAMA3_ASSISTANT.format(r) for r in responses])
    bos = [tokenizer.hf.bos_token_id] if tokenizer.hf.bos_token_id is not None else []  # its templates skip a None
    prompt_ids = bos + [token for part in ids[: len(slots)] for token in part]
    return prompt_ids, ids[len(slots) :]


def _chat_template(tokenizer, system: str, prompt: list[dict], responses: list[str]):
    messages = ([{"role": "system", "content": system}] if system else []) + prompt
    rendered = tokenizer.render_chat(messages, add_generation_prompt=True)
    wholes = [
        tokenizer.render_chat(messages + [{"role": "assistant", "content": r}], add_generation_prompt=False)
        for r in responses
    ]
    ids = tokenizer.encode_many([rendered] + [whole[len(rendered) :] for whole in wholes])
    return ids[0], ids[1:]
