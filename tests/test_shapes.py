"""Every common preference-data shape normalizes to the same pair."""

import pytest

from preflint.defects import RowDefect
from preflint.errors import ConfigError, InputError
from preflint.registry import Registry
from preflint.shapes.detect import detect_input
from preflint.shapes.fields import detect_fields, parse_map
from preflint.shapes.pairs import normalize

USER = {"role": "user", "content": "Capital of France?"}
GOOD = {"role": "assistant", "content": "Paris."}
BAD = {"role": "assistant", "content": "Rome."}


def pair_of(record, mapping=None):
    return normalize(record, detect_fields(record, parse_map(mapping), "data.jsonl"))


@pytest.mark.parametrize(
    "record",
    [
        {"prompt": "Capital of France?", "chosen": "Paris.", "rejected": "Rome."},
        {"question": "Capital of France?", "response_j": "Paris.", "response_k": "Rome."},
        {"instruction": "Capital of France?", "chosen_response": "Paris.", "rejected_response": "Rome."},
        {"instruction": "Capital of France?", "input": "", "chosen": "Paris.", "rejected": "Rome."},
    ],
)
def test_text_aliases(record):
    pair = pair_of(record)
    assert (pair.kind, pair.prompt, pair.chosen, pair.rejected) == ("text", "Capital of France?", "Paris.", "Rome.")


def test_instruction_and_input_join_like_alpaca():
    pair = pair_of({"instruction": "Translate:", "input": "chat", "chosen": "cat", "rejected": "chat"})
    assert pair.prompt == "Translate:\nchat"


def test_map_overrides_aliases():
    record = {"question": "Q", "title": "T", "a": "x", "b": "y"}
    pair = pair_of(record, "prompt=title,chosen=a,rejected=b")
    assert (pair.prompt, pair.chosen, pair.rejected) == ("T", "x", "y")
    assert pair_of(record, "prompt=title+question,chosen=a,rejected=b").prompt == "T\nQ"


def test_map_errors():
    with pytest.raises(ConfigError, match="unknown field 'answer'"):
        parse_map("answer=x")
    with pytest.raises(ConfigError, match="expected FIELD=COLUMN"):
        parse_map("prompt")


def test_undetectable_columns_say_how_to_map():
    with pytest.raises(InputError, match="--map chosen=COLUMN,rejected=COLUMN"):
        detect_fields(["text", "label"], {}, "data.jsonl")


@pytest.mark.parametrize(
    ("columns", "said"),
    [
        (["messages"], "supervised fine-tuning data"),
        (["prompt", "completion"], "supervised fine-tuning data"),
        (["prompt", "answers", "turns"], "column 'answers' looks like several responses per row .* no score or rank"),
        (["message_id", "parent_id", "text", "role", "rank"], "OpenAssistant message trees"),
        (["message_tree_id", "tree_state", "prompt"], "OpenAssistant message trees"),
        (["prompt", "response", "helpfulness", "correctness"], "one rated response per row \\(HelpSteer2\\)"),
    ],
)
def test_data_preflint_cannot_read_is_named(columns, said):
    with pytest.raises(InputError, match=said) as error:
        detect_input(columns, {}, "data.jsonl", dict.fromkeys(columns, "x"))
    assert "--map chosen=" not in str(error.value)


def test_hh_rlhf_prompt_is_cut_at_the_turn_boundary_not_mid_word():
    chosen = "\n\nHuman: Hi\n\nAssistant: Hello!\n\nHuman: Recipe?\n\nAssistant: Sure, here is one."
    rejected = "\n\nHuman: Hi\n\nAssistant: Hello!\n\nHuman: Recipe?\n\nAssistant: Sure, no."
    pair = pair_of({"chosen": chosen, "rejected": rejected})
    assert pair.kind == "implicit"
    assert pair.prompt == "\n\nHuman: Hi\n\nAssistant: Hello!\n\nHuman: Recipe?\n\nAssistant:"
    assert (pair.chosen, pair.rejected) == (" Sure, here is one.", " Sure, no.")
    assert pair.rejected_prompt is None


def test_trl_conversational_explicit_prompt():
    pair = pair_of({"prompt": [USER], "chosen": [GOOD], "rejected": [BAD]})
    assert (pair.kind, pair.prompt, pair.chosen, pair.rejected) == ("conversational", [USER], [GOOD], [BAD])


def test_trl_conversational_implicit_prompt_and_ultrafeedback_style():
    pair = pair_of({"chosen": [USER, GOOD], "rejected": [USER, BAD]})
    assert (pair.prompt, pair.chosen, pair.rejected) == ([USER], [GOOD], [BAD])
    # UltraFeedback-binarized: a prompt string plus whole conversations in chosen/rejected
    pair = pair_of(
        {
            "prompt": "Capital of France?",
            "chosen": [USER, GOOD],
            "rejected": [USER, BAD],
            "score_chosen": 9.0,
            "score_rejected": 3,
        }
    )
    assert (pair.prompt, pair.chosen, pair.rejected) == ([USER], [GOOD], [BAD])
    assert pair.scores == {"score_chosen": 9.0, "score_rejected": 3.0}
    # Argilla's cleaned UltraFeedback names its scores with hyphens
    pair = pair_of(
        {
            "prompt": "Capital of France?",
            "chosen": [USER, GOOD],
            "rejected": [USER, BAD],
            "chosen-rating": 4.5,
            "chosen-model": "a",
            "rejected-rating": 4.5,
            "rejected-model": "b",
        }
    )
    assert pair.scores == {"score_chosen": 4.5, "score_rejected": 4.5}


def test_llamafactory_sharegpt_with_system():
    record = {
        "conversations": [{"from": "human", "value": "Capital of France?"}],
        "chosen": {"from": "gpt", "value": "Paris."},
        "rejected": {"from": "gpt", "value": "Rome."},
        "system": "Be brief.",
    }
    pair = pair_of(record)
    assert pair.prompt == [{"role": "system", "content": "Be brief."}, USER]
    assert (pair.chosen, pair.rejected) == ([GOOD], [BAD])


def test_axolotl_chat_template_default_messages_with_one_reply_each():
    system = {"role": "system", "content": "Be brief."}
    pair = pair_of({"messages": [system, USER], "chosen": GOOD, "rejected": BAD})
    assert (pair.kind, pair.prompt, pair.chosen, pair.rejected) == ("conversational", [system, USER], [GOOD], [BAD])
    pair = pair_of({"messages": "Capital of France?", "chosen": "Paris.", "rejected": "Rome."})  # messages as text
    assert (pair.kind, pair.prompt, pair.chosen) == ("text", "Capital of France?", "Paris.")
    # UltraFeedback-binarized also has `messages` (the chosen conversation): its prompt column comes first
    pair = pair_of(
        {"prompt": "Capital of France?", "chosen": [USER, GOOD], "rejected": [USER, BAD], "messages": [USER, GOOD]}
    )
    assert (pair.prompt, pair.chosen, pair.rejected) == ([USER], [GOOD], [BAD])


def test_tools_are_read_for_conversations_as_trl_reads_them():
    weather = [{"type": "function", "function": {"name": "get_weather"}}]
    assert pair_of({"prompt": [USER], "chosen": [GOOD], "rejected": [BAD], "tools": weather}).tools == weather
    assert pair_of(
        {"prompt": [USER], "chosen": [GOOD], "rejected": [BAD], "tools": '[{"type": "function"}]'}
    ).tools == [{"type": "function"}]
    assert pair_of({"prompt": [USER], "chosen": [GOOD], "rejected": [BAD], "tools": ""}).tools is None
    assert (
        pair_of({"prompt": "Q?", "chosen": "A.", "rejected": "B.", "tools": "not json"}).tools is None
    )  # text: TRL ignores it
    assert (
        pair_of({"prompt": [USER], "chosen": [GOOD], "rejected": [BAD], "functions": weather}, "tools=functions").tools
        == weather
    )
    for bad, said in (
        ("not json", "tools is text that is not JSON"),
        ({"name": "x"}, "not a list of tool definitions"),
    ):
        with pytest.raises(RowDefect, match=said):
            pair_of({"prompt": [USER], "chosen": [GOOD], "rejected": [BAD], "tools": bad})


def test_chat_template_kwargs_are_passed_on_with_the_tools():
    record = {
        "prompt": [USER],
        "chosen": [GOOD],
        "rejected": [BAD],
        "tools": [{"type": "function"}],
        "chat_template_kwargs": {"enable_thinking": False, "unset": None},
    }
    assert pair_of(record).template_args == {"tools": [{"type": "function"}], "enable_thinking": False}
    with pytest.raises(RowDefect, match="chat_template_kwargs is .* not a mapping of template arguments"):
        pair_of({**record, "chat_template_kwargs": "enable_thinking=False"})


def test_openai_preference_format_with_content_parts():
    record = {
        "input": {"messages": [{"role": "user", "content": [{"type": "text", "text": "Capital of France?"}]}]},
        "preferred_output": [GOOD],
        "non_preferred_output": [BAD],
    }
    pair = pair_of(record)
    assert (pair.prompt, pair.chosen, pair.rejected) == ([USER], [GOOD], [BAD])


def test_text_prompt_with_message_responses_becomes_a_conversation():
    pair = pair_of({"prompt": "Capital of France?", "chosen": GOOD, "rejected": BAD})
    assert (pair.kind, pair.prompt) == ("conversational", [USER])


def test_defects_name_the_field():
    fields = detect_fields(["prompt", "chosen", "rejected"], {}, "data.jsonl")
    with pytest.raises(RowDefect) as defect:
        normalize({"prompt": "x", "chosen": ["a"], "rejected": "b"}, fields)
    assert Registry.load().reporting(defect.value.kind).code == "S003" and "chosen[0]" in defect.value.message
    with pytest.raises(RowDefect) as defect:
        normalize({"prompt": "x", "chosen": "a"}, fields)
    assert Registry.load().reporting(defect.value.kind).code == "S002"
    with pytest.raises(RowDefect) as defect:  # a Parquet binary column: bytes, which no tokenizer takes
        normalize({"prompt": "x", "chosen": "a", "rejected": b"caf\xc3\xa9"}, fields)
    assert defect.value.message == "rejected is bytes (b'caf\\xc3\\xa9'), not text or messages"
