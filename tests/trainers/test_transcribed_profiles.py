"""The `openrlhf` and `llamafactory` profiles against transcriptions of those trainers' own functions, run row by
row with the tokenizer's ordinary per-text API on the real test data. (Importing either trainer needs its whole
training stack: Ray and DeepSpeed, or LLaMA-Factory's model loaders.)"""

import json
import re
from pathlib import Path

import jinja2
import pytest

from preflint.config import Settings
from preflint.io.sources import resolve_sources

from ..conftest import CHATML_TEMPLATE, data_file
from . import pair_batches

FILES = ["hh-rlhf-harmless-test.jsonl", "llamafactory-dpo-en-demo.json", "llamafactory-dpo-zh-demo.json"]
ROLES = {"human": "user", "gpt": "assistant", "system": "system"}


def preflint_rows(name, tokenizer, trainer, max_length):
    """`name`: a file in tests/data, or a path."""
    settings = Settings(trainer=trainer, max_length=max_length)
    rows = {}
    path = name if isinstance(name, Path) else data_file(name)
    for batch, _ in pair_batches(resolve_sources([str(path)]), settings, tokenizer, simulate=True):
        rows.update(zip(batch.rows, batch.trainer))
    return rows


def records(name):
    path = data_file(name)
    if name.endswith(".jsonl"):
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    return json.loads(path.read_text(encoding="utf-8"))


# --- OpenRLHF @3c3be62, openrlhf/datasets/reward_dataset.py and openrlhf/trainer/dpo_trainer.py -------------------


def openrlhf_preprocess_data(data, apply_chat_template=None, prompt_key=None):
    """preprocess_data(..., chosen_key="chosen", rejected_key="rejected", is_dpo=True), input_template=None."""
    if apply_chat_template:
        if prompt_key:
            prompt = apply_chat_template(data[prompt_key], tokenize=False, add_generation_prompt=True)
            chosen = apply_chat_template(data[prompt_key] + data["chosen"], tokenize=False)[len(prompt) :]
            rejected = apply_chat_template(data[prompt_key] + data["rejected"], tokenize=False)[len(prompt) :]
        else:
            prompt = ""
            chosen = apply_chat_template(data["chosen"], tokenize=False)
            rejected = apply_chat_template(data["rejected"], tokenize=False)
            prompt = apply_chat_template(data["chosen"][:-1], tokenize=False, add_generation_prompt=True)
            chosen = chosen[len(prompt) :]
            rejected = rejected[len(prompt) :]
    else:
        prompt = data[prompt_key] if prompt_key else ""
        chosen, rejected = data["chosen"], data["rejected"]
    return prompt, chosen, rejected


def openrlhf_row(data, tokenizer, max_length, apply_chat_template, prompt_key):
    """RewardDataset.process_data + __getitem__ (is_dpo=True) + DPOTrainer._get_batch_logps' prompt masking."""
    prompt, chosen, reject = openrlhf_preprocess_data(data, apply_chat_template, prompt_key)
    prompt_token = tokenizer(prompt, max_length=max_length, padding=False, truncation=True, add_special_tokens=False)
    prompt_ids_len = sum(prompt_token["attention_mask"])
    if prompt_ids_len >= max_length - 2:
        return None
    out = []
    for completion in (chosen, reject):
        text = (prompt + completion).rstrip("\n")
        if not text.endswith(tokenizer.eos_token):
            text += " " + tokenizer.eos_token
        ids = tokenizer(text, max_length=max_length, padding=False, truncation=True, add_special_tokens=False)[
            "input_ids"
        ]
        ids[-1] = tokenizer.eos_token_id
        mask = [1] * len(ids)
        mask[:prompt_ids_len] = [0] * min(prompt_ids_len, len(ids))
        out.append((ids, mask))
    return out


def openrlhf_input(name, record):
    """How a user feeds each test data file to OpenRLHF: HH with no prompt key, LLaMA-Factory files as chats."""
    if name.endswith(".jsonl"):
        return record, None, None
    chat = {
        "prompt": [{"role": ROLES[t["from"]], "content": t["value"]} for t in record["conversations"]],
        "chosen": [{"role": "assistant", "content": record["chosen"]["value"]}],
        "rejected": [{"role": "assistant", "content": record["rejected"]["value"]}],
    }
    return chat, True, "prompt"


@pytest.mark.parametrize("name", FILES)
@pytest.mark.parametrize("max_length", [512, 96])
def test_openrlhf_profile_matches_its_transcription(name, max_length, llama, write_jsonl):
    inputs = [openrlhf_input(name, record) for record in records(name)]
    given = name if name.endswith(".jsonl") else write_jsonl([data for data, _, _ in inputs], name="as-given.jsonl")
    ours = preflint_rows(given, llama, "openrlhf", max_length)
    dropped = 0
    for index, (data, chat, prompt_key) in enumerate(inputs):
        expected = openrlhf_row(data, llama.hf, max_length, llama.hf.apply_chat_template if chat else None, prompt_key)
        row = ours[index]
        if expected is None:
            dropped += 1
            assert row.dropped, index
            continue
        assert not row.dropped, index
        assert [(s.input_ids, s.completion_mask) for _, s in row.sides()] == expected, index
    if max_length == 96 and name.endswith(".json"):
        assert dropped, "long LLaMA-Factory prompts at 96 tokens: the test must exercise dropping"


def test_openrlhf_raises_on_llamafactory_files_as_published_and_the_profile_says_so(llama):
    """Their replies are single messages: OpenRLHF adds each to the prompt's list of messages, which raises (on the
    file as published, rendering ShareGPT's `from`/`value` messages raises first)."""
    name = "llamafactory-dpo-en-demo.json"
    record = records(name)[0]
    with pytest.raises(jinja2.UndefinedError):
        openrlhf_row(record, llama.hf, 512, llama.hf.apply_chat_template, "conversations")
    chat, _, _ = openrlhf_input(name, record)
    with pytest.raises(TypeError, match="can only concatenate list"):
        openrlhf_row(
            {**chat, "chosen": chat["chosen"][0], "rejected": chat["rejected"][0]},
            llama.hf,
            512,
            llama.hf.apply_chat_template,
            "prompt",
        )
    rows = preflint_rows(name, llama, "openrlhf", 512).values()
    assert all(row.failure and row.failure.every_row for row in rows)
    assert "OpenRLHF raises on a prompt of messages beside responses given as one message" in str(
        next(iter(rows)).failure
    )


def hh_as_messages(text):
    """An HH-RLHF dialogue as chat messages, each turn's text stripped."""
    parts = re.split(r"\n\n(Human|Assistant):", text)
    return [
        {"role": "user" if role == "Human" else "assistant", "content": content.strip()}
        for role, content in zip(parts[1::2], parts[2::2])
    ]


def hh_dialogues_as_messages(write_jsonl):
    """HH-RLHF's whole dialogues as chat messages, and the file that holds them."""
    dialogues = [
        {side: hh_as_messages(record[side]) for side in ("chosen", "rejected")} for record in records(FILES[0])
    ]
    return dialogues, write_jsonl(dialogues, name="hh-messages.jsonl")


def test_openrlhf_profile_matches_its_transcription_on_whole_dialogues_as_messages(llama, write_jsonl):
    """Chat dialogues and no prompt key: OpenRLHF renders the chosen dialogue but its last message as the prompt and
    cuts both dialogues after it, even where the rejected one differs earlier (HH-RLHF's M008 rows)."""
    dialogues, data = hh_dialogues_as_messages(write_jsonl)
    ours = preflint_rows(data, llama, "openrlhf", 512)
    mismatched = []
    for index, record in enumerate(dialogues):
        expected = openrlhf_row(record, llama.hf, 512, llama.hf.apply_chat_template, None)
        row = ours[index]
        if row is None:  # a dialogue preflint cannot read as a pair (no final reply): not OpenRLHF's concern here
            continue
        if expected is None or row.dropped:
            if (expected is None) != bool(row.dropped):
                mismatched.append(index)
        elif [(s.input_ids, s.completion_mask) for _, s in row.sides()] != expected:
            mismatched.append(index)
    assert mismatched == []
    assert sum(row is not None for row in ours.values()) > 2300


# --- LLaMA-Factory @ff6d4d1, src/llamafactory/data/processor/pairwise.py, processor_utils.py, template.py ---------


def infer_seqlen(source_len, target_len, cutoff_len):
    if target_len * 2 < cutoff_len:
        max_target_len = cutoff_len
    elif source_len * 2 < cutoff_len:
        max_target_len = cutoff_len - source_len
    else:
        max_target_len = int(cutoff_len * (target_len / (source_len + target_len)))
    new_target_len = min(max_target_len, target_len)
    max_source_len = max(cutoff_len - new_target_len, 0)
    new_source_len = min(max_source_len, source_len)
    return new_source_len, new_target_len


LLAMA3 = {
    "user": [
        "<|start_header_id|>user<|end_header_id|>\n\n{{content}}<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n"
    ],
    "assistant": ["{{content}}<|eot_id|>"],
    "system": ["<|start_header_id|>system<|end_header_id|>\n\n{{content}}<|eot_id|>"],
    "prefix": [{"bos_token"}],
}


def llama3_encode(tokenizer, messages, system):
    """Template._encode with the llama3 template, then _convert_elements_to_ids per message."""
    encoded = []
    for i, message in enumerate(messages):
        elements = []
        if i == 0:
            elements += LLAMA3["prefix"]
            if system:
                elements += [slot.replace("{{content}}", system) for slot in LLAMA3["system"]]
        elements += [slot.replace("{{content}}", message["content"]) for slot in LLAMA3[message["role"]]]
        ids = []
        for element in elements:
            if isinstance(element, str):
                if element:
                    ids += tokenizer.encode(element, add_special_tokens=False)
            elif "bos_token" in element:
                ids += [tokenizer.bos_token_id]
        encoded.append(ids)
    return encoded


def llamafactory_row(record, tokenizer, cutoff_len):
    """Converter (ShareGPT: system turn → system), preprocess_dataset's validity check and _encode_data_example."""
    turns = [{"role": ROLES[t["from"]], "content": t["value"]} for t in record["conversations"]]
    system = turns[0]["content"] if turns and turns[0]["role"] == "system" else ""
    prompt = turns[1:] if system else turns
    if len(prompt) % 2 != 1:
        return None
    out = []
    encoded = {}
    for side in ("chosen", "rejected"):
        messages = prompt + [{"role": "assistant", "content": record[side]["value"]}]
        encoded_messages = llama3_encode(tokenizer, messages, system)
        encoded[side] = ([t for m in encoded_messages[:-1] for t in m], encoded_messages[-1])
    prompt_ids = encoded["chosen"][0]
    source_len, target_len = infer_seqlen(
        len(prompt_ids), max(len(encoded["chosen"][1]), len(encoded["rejected"][1])), cutoff_len
    )
    for side in ("chosen", "rejected"):
        response = encoded[side][1][:target_len]
        out.append((prompt_ids[:source_len] + response, [0] * source_len + [1] * len(response)))
    return out


def llamafactory_converts_a_pair(example, prompt_column):
    """converter.py, with `ranking: true` and the columns mapped: whether AlpacaDatasetConverter (a text prompt) or
    SharegptDatasetConverter (a list of messages) yields a pairwise example, which the processor can keep."""
    if isinstance(example[prompt_column], str):
        return isinstance(example["chosen"], str) and isinstance(example["rejected"], str)
    return isinstance(example["chosen"], dict) and isinstance(example["rejected"], dict)


def test_llamafactory_profile_knows_which_rows_its_converters_take_a_pair_from(llama, write_jsonl):
    """Its own files' rows, and the same rows as TRL takes them (replies as lists): the converter drops those."""
    name = "llamafactory-dpo-en-demo.json"
    own = records(name)[:20]
    as_trl = [{"conversations": r["conversations"], "chosen": [r["chosen"]], "rejected": [r["rejected"]]} for r in own]
    as_text = [
        {"instruction": r["conversations"][-1]["value"], "chosen": [r["chosen"]], "rejected": r["rejected"]["value"]}
        for r in own
    ]
    for given, prompt_column in ((own, "conversations"), (as_trl, "conversations"), (as_text, "instruction")):
        rows = preflint_rows(write_jsonl(given, name="given.jsonl"), llama, "llamafactory", 2048)
        expected = [llamafactory_converts_a_pair(example, prompt_column) for example in given]
        assert [not (row.failure and row.failure.every_row) for row in rows.values()] == expected
    assert expected == [False] * 20 and llamafactory_converts_a_pair(own[0], "conversations")


@pytest.mark.parametrize("name", FILES[1:])
@pytest.mark.parametrize("cutoff_len", [2048, 256])
def test_llamafactory_profile_matches_its_transcription(name, cutoff_len, llama):
    ours = preflint_rows(name, llama, "llamafactory", cutoff_len)
    for index, record in enumerate(records(name)):
        expected = llamafactory_row(record, llama.hf, cutoff_len)
        row = ours[index]
        assert bool(row.dropped) == (expected is None), index
        if expected is not None:
            assert [(s.input_ids, s.completion_mask) for _, s in row.sides()] == expected, index


# --- axolotl @067b021 (pins trl 1.8.0): src/axolotl/prompt_strategies/dpo/chat_template.py, utils/data/rl.py -------


def axolotl_chat_template_default(sample, tokenizer):
    """chat_template.default's transform_fn: the tokenizer's own template, fields messages/chosen/rejected."""
    messages = sample["messages"]
    if isinstance(messages, str):
        messages = [{"role": "user", "content": messages}]
    messages = [{"role": m["role"], "content": m["content"]} for m in messages]
    dummy_user_message = {"role": "user", "content": "[[dummy_message]]"}
    result = {"prompt": tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)}
    for field in ("chosen", "rejected"):
        raw = sample[field]
        message = (
            {"role": "assistant", "content": raw} if isinstance(raw, str) else raw if isinstance(raw, dict) else raw[-1]
        )
        message = {"role": message["role"], "content": message["content"]}
        rendered = tokenizer.apply_chat_template(
            [dummy_user_message, message], add_generation_prompt=False, tokenize=False
        )
        result[field] = rendered[rendered.find(message["content"]) :].rstrip()
    return result


def axolotl_keeps(sample, tokenizer, sequence_len):
    """_drop_long_sequences for DPO."""

    def length(text):
        return len(tokenizer(text, add_special_tokens=False)["input_ids"])

    return all(length(sample["prompt"]) + length(sample[field]) <= sequence_len for field in ("chosen", "rejected"))


def trl_1_8_row(example, tokenizer, max_length):
    """TRL 1.8.0 DPOTrainer._prepare_dataset on a text row (add_eos, tokenize_fn with TRL's own `_tokenize`) and
    DataCollatorForPreference (keep_start)."""
    from trl.data_utils import _tokenize

    eos = tokenizer.eos_token
    prompt_ids = _tokenize(tokenizer, example["prompt"])["input_ids"]
    out = []
    for field in ("chosen", "rejected"):
        completion = example[field] if example[field].endswith(eos) else example[field] + eos
        completion_ids = _tokenize(tokenizer, example["prompt"] + completion)["input_ids"][len(prompt_ids) :]
        ids, mask = prompt_ids + completion_ids, [0] * len(prompt_ids) + [1] * len(completion_ids)
        out.append((ids[:max_length], mask[:max_length]))
    return out


def axolotl_input(name, record):
    """How a user feeds each test data file to chat_template.default: the LLaMA-Factory files with their ShareGPT
    fields mapped (message_property_mappings, roles), HH-RLHF split at its last assistant turn into text fields."""
    if name.endswith(".jsonl"):
        marker = "\n\nAssistant:"

        def split(dialogue):
            end = dialogue.rfind(marker) + len(marker)
            return dialogue[:end], dialogue[end:]

        prompt, chosen = split(record["chosen"])
        return {"messages": prompt, "chosen": chosen, "rejected": split(record["rejected"])[1]}
    return {
        "messages": [{"role": ROLES[t["from"]], "content": t["value"]} for t in record["conversations"]],
        "chosen": {"role": "assistant", "content": record["chosen"]["value"]},
        "rejected": {"role": "assistant", "content": record["rejected"]["value"]},
    }


@pytest.mark.parametrize("name", FILES)
@pytest.mark.parametrize(
    ("sequence_len", "template", "joined"),
    [(512, None, True), (96, None, True), (512, CHATML_TEMPLATE, True), (512, None, False)],
)
def test_axolotl_profile_matches_its_transcription(name, sequence_len, template, joined, llama, monkeypatch):
    """`joined`: the profile builds TRL's ids from each text's own ids (the usual path); else it tokenizes whole."""
    monkeypatch.setattr("preflint.trainers.axolotl.text_joinable", lambda tokenizer: joined)
    tokenizer = llama.with_chat_template(template) if template else llama
    ours = preflint_rows(name, tokenizer, "axolotl", sequence_len)
    dropped = collapsed = 0
    for index, record in enumerate(records(name)):
        sample = axolotl_chat_template_default(axolotl_input(name, record), tokenizer.hf)
        row = ours[index]
        if not axolotl_keeps(sample, tokenizer.hf, sequence_len):
            dropped += 1
            assert row.dropped, index
            continue
        assert not row.dropped, index
        assert [(s.input_ids, s.completion_mask) for _, s in row.sides()] == trl_1_8_row(
            sample, tokenizer.hf, sequence_len
        ), index
        assert bool(row.chosen.altered) == (sample["chosen"] == ">"), index
        collapsed += sample["chosen"] == sample["rejected"] == ">"
    assert dropped, "long rows at this sequence_len: the test must exercise dropping"
    if name.endswith(".jsonl"):
        assert bool(collapsed) == (template is None), "Llama 3's template trims HH-RLHF's leading spaces: '>' then"


def axolotl_argilla_chat(sample, tokenizer):
    """argilla_chat's transform_fn: the prompt is the chosen conversation but its last message, and each reply is
    its conversation's last message, cut from the rendered chat as chat_template.default cuts it."""
    reshaped = {"messages": sample["chosen"][:-1], "chosen": sample["chosen"][-1], "rejected": sample["rejected"][-1]}
    return axolotl_chat_template_default(reshaped, tokenizer)


def test_axolotl_profile_matches_argilla_chat_on_whole_dialogues_as_messages(llama, write_jsonl):
    dialogues, data = hh_dialogues_as_messages(write_jsonl)
    ours = preflint_rows(data, llama, "axolotl", 512)
    mismatched, compared = [], 0
    for index, record in enumerate(dialogues):
        row = ours[index]
        if row is None:  # a dialogue preflint cannot read as a pair (no final reply)
            continue
        compared += 1
        sample = axolotl_argilla_chat(record, llama.hf)
        if not axolotl_keeps(sample, llama.hf, 512):
            mismatched += [] if row.dropped else [index]
        elif row.dropped or [(s.input_ids, s.completion_mask) for _, s in row.sides()] != trl_1_8_row(
            sample, llama.hf, 512
        ):
            mismatched.append(index)
    assert mismatched == [] and compared > 2300


def test_openrlhf_profile_leaves_out_a_system_column_as_openrlhf_does(llama, write_jsonl):
    """preprocess_data reads the prompt, chosen and rejected keys only: a `system` column never reaches the model."""
    rows = [
        {"system": "Answer briefly.", "prompt": "Capital of France?", "chosen": " Paris.", "rejected": " Rome."},
        {
            "system": "Answer briefly.",
            "prompt": [{"role": "user", "content": "Capital of France?"}],
            "chosen": [{"role": "assistant", "content": "Paris."}],
            "rejected": [{"role": "assistant", "content": "Rome."}],
        },
    ]
    data = write_jsonl(rows, name="orca.jsonl")
    ours = preflint_rows(data, llama, "openrlhf", 512)
    for index, row in enumerate(rows):
        chat = isinstance(row["prompt"], list)
        expected = openrlhf_row(row, llama.hf, 512, llama.hf.apply_chat_template if chat else None, "prompt")
        assert [(s.input_ids, s.completion_mask) for _, s in ours[index].sides()] == expected, index
        assert ours[index].system_ignored.trainer == "OpenRLHF"  # M011 says it ignores the system column


def test_axolotl_profile_leaves_out_a_system_column_as_chat_template_default_does(llama, write_jsonl):
    """chat_template.default reads the messages, chosen and rejected fields: a `system` column never reaches it."""
    rows = [
        {"system": "Answer briefly.", "messages": "Capital of France?", "chosen": "Paris.", "rejected": "Rome."},
        {
            "system": "Answer briefly.",
            "messages": [{"role": "user", "content": "Capital of France?"}],
            "chosen": {"role": "assistant", "content": "Paris."},
            "rejected": {"role": "assistant", "content": "Rome."},
        },
    ]
    data = write_jsonl(rows, name="orca.jsonl")
    ours = preflint_rows(data, llama, "axolotl", 512)
    for index, row in enumerate(rows):
        expected = trl_1_8_row(axolotl_chat_template_default(row, llama.hf), llama.hf, 512)
        assert [(s.input_ids, s.completion_mask) for _, s in ours[index].sides()] == expected, index
        assert ours[index].system_ignored == ("axolotl", False)  # M011: it trains this row as a conversation
