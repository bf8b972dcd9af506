"""The `trl` profile against TRL itself: TRL's own DPO preprocessing (`DPOTrainer._prepare_dataset`) and collator
(`DataCollatorForPreference`) run on every row of the real files in tests/data, and preflint must produce the same
prompt/chosen/rejected ids, the same input ids and completion masks, and drop the same rows."""

import json
from types import SimpleNamespace

import pytest
from datasets import Dataset
from trl import DPOConfig
from trl.trainer.dpo_trainer import DataCollatorForPreference, DPOTrainer

import preflint
from preflint.cli import main
from preflint.config import Settings
from preflint.io.sources import resolve_sources
from preflint.shapes.fields import parse_map

from ..conftest import data_file
from . import pair_batches

ROLES = {"human": "user", "gpt": "assistant", "system": "system"}


def hh_records():
    return [
        json.loads(line) for line in data_file("hh-rlhf-harmless-test.jsonl").read_text(encoding="utf-8").splitlines()
    ]


def llamafactory_records(name):
    """LLaMA-Factory's ShareGPT rows in TRL's conversational preference format, converted here independently."""
    return [
        {
            "prompt": [{"role": ROLES[turn["from"]], "content": turn["value"]} for turn in record["conversations"]],
            "chosen": [{"role": "assistant", "content": record["chosen"]["value"]}],
            "rejected": [{"role": "assistant", "content": record["rejected"]["value"]}],
        }
        for record in json.loads(data_file(name).read_text(encoding="utf-8"))
    ]


def torchtune_records():
    records = json.loads(data_file("torchtune-stack-exchange-paired-tiny.json").read_text(encoding="utf-8"))
    return [{"prompt": r["question"], "chosen": r["response_j"], "rejected": r["response_k"]} for r in records]


CASES = {  # the test data file preflint reads (None: the records TRL is given, as a file), its --map, TRL's records
    "hh-rlhf": ("hh-rlhf-harmless-test.jsonl", None, hh_records),
    # LLaMA-Factory's own file stops TRL (its replies are single messages): both read the records in TRL's format
    "llamafactory-en": (None, None, lambda: llamafactory_records("llamafactory-dpo-en-demo.json")),
    "llamafactory-zh": (None, None, lambda: llamafactory_records("llamafactory-dpo-zh-demo.json")),
    "torchtune": (
        "torchtune-stack-exchange-paired-tiny.json",
        "prompt=question,chosen=response_j,rejected=response_k",
        torchtune_records,
    ),
}


def run_trl(records, tokenizer, max_length, truncation_mode, tmp_path):
    """TRL's code path, row by row; returns {row index: (prompt, chosen, rejected ids, chosen input, mask, ...)}."""
    args = DPOConfig(
        output_dir=str(tmp_path),
        max_length=max_length,
        truncation_mode=truncation_mode,
        report_to=[],
        use_cpu=True,
        bf16=False,
    )
    trainer = SimpleNamespace(_tokenizer=tokenizer, _is_vision_dataset=False)
    dataset = Dataset.from_list([{**record, "row": index} for index, record in enumerate(records)])
    prepared = DPOTrainer._prepare_dataset(trainer, dataset, tokenizer, args, "train")
    collator = DataCollatorForPreference(pad_token_id=0, max_length=max_length, truncation_mode=truncation_mode)
    out = {}
    for example in prepared:
        batch = collator.torch_call([example])  # chosen and rejected, right-padded to the longer one
        unpadded = [
            (ids[: int(attention.sum())].tolist(), mask[: int(attention.sum())].tolist())
            for ids, attention, mask in zip(batch["input_ids"], batch["attention_mask"], batch["completion_mask"])
        ]
        out[example["row"]] = (
            example["prompt_ids"],
            example["chosen_ids"],
            example["rejected_ids"],
            *unpadded[0],
            *unpadded[1],
        )
    return out


def run_preflint(name, mapping, tokenizer, max_length, truncation_mode):
    """`name`: a file in tests/data, or a path."""
    settings = Settings(trainer="trl", max_length=max_length, truncation_mode=truncation_mode, map=parse_map(mapping))
    out, dropped = {}, set()
    path = name if "/" in str(name) else data_file(name)
    for batch, _ in pair_batches(resolve_sources([str(path)]), settings, tokenizer, simulate=True):
        for row, trainer_row in zip(batch.rows, batch.trainer):
            if trainer_row.dropped:
                dropped.add(row)
                continue
            chosen, rejected = trainer_row.chosen, trainer_row.rejected
            out[row] = (
                chosen.joint_ids[: chosen.completion_start],
                chosen.completion_ids,
                rejected.completion_ids,
                chosen.input_ids,
                chosen.completion_mask,
                rejected.input_ids,
                rejected.completion_mask,
            )
    return out, dropped


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize(
    ("max_length", "truncation_mode"), [(1024, "keep_start"), (128, "keep_start"), (128, "keep_end")]
)
def test_trl_profile_matches_trl_on_real_data(case, max_length, truncation_mode, llama, tmp_path, write_jsonl):
    name, mapping, records = CASES[case]
    records = records()
    name = name or write_jsonl(records, name=f"{case}.jsonl")
    expected = run_trl(records, llama.hf, max_length, truncation_mode, tmp_path)
    ours, dropped = run_preflint(name, mapping, llama, max_length, truncation_mode)
    assert set(ours) == set(expected), "the rows TRL keeps"
    assert dropped == set(range(len(records))) - set(expected), "the rows TRL drops"
    mismatched = [row for row in expected if ours[row] != tuple(expected[row])]
    assert mismatched == []
    if (max_length, truncation_mode) == (128, "keep_start") and case == "hh-rlhf":
        assert dropped, "at 128 tokens TRL drops long HH prompts: the test must exercise dropping"


TOOLS_TEMPLATE = (  # Llama 3 turns, with the tool names listed first when a row has tools (as Llama 3.1 and Qwen do)
    "{{ bos_token }}{% if tools %}Tools: {% for tool in tools %}{{ tool['function']['name'] }}; {% endfor %}"
    "\\n{% endif %}"
    "{% if enable_thinking is defined and enable_thinking is false %}/no_think\\n{% endif %}"  # as Qwen3 tests it
    "{% for m in messages %}<|start_header_id|>{{ m['role'] }}<|end_header_id|>\\n\\n{{ m['content'] }}<|eot_id|>"
    "{% endfor %}"
    "{% if add_generation_prompt %}<|start_header_id|>assistant<|end_header_id|>\\n\\n{% endif %}"
)


def test_tools_and_chat_template_kwargs_reach_the_chat_template_as_trl_passes_them(llama, tmp_path, write_jsonl):
    tokenizer = llama.with_chat_template(TOOLS_TEMPLATE)
    weather = [
        {"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object", "properties": {}}}}
    ]
    user = [{"role": "user", "content": "Weather in Paris?"}]
    records = [
        {
            "prompt": user,
            "chosen": [{"role": "assistant", "content": "Sunny."}],
            "rejected": [{"role": "assistant", "content": "No idea."}],
            "tools": json.dumps(weather),
            "chat_template_kwargs": {"enable_thinking": None},
        },
        {
            "prompt": user,
            "chosen": [{"role": "assistant", "content": "Rain."}],
            "rejected": [{"role": "assistant", "content": "Snow."}],
            "tools": None,
            "chat_template_kwargs": {"enable_thinking": False},
        },
    ]
    data = write_jsonl(records, name="tools.jsonl")
    expected = run_trl(records, tokenizer.hf, 1024, "keep_start", tmp_path)
    ours, dropped = run_preflint(data, None, tokenizer, 1024, "keep_start")
    assert not dropped and ours == {row: tuple(ids) for row, ids in expected.items()}
    first, second = tokenizer.decode(ours[0][0]), tokenizer.decode(ours[1][0])
    assert "Tools: get_weather;" in first and "Tools" not in second
    assert "/no_think" in second and "/no_think" not in first


def test_a_row_trl_raises_on_is_a_finding_that_says_so(llama, tmp_path):
    """Whole dialogues that differ from their first message: TRL extracts an empty prompt and its chat template
    call raises, which stops training. preflint reports the row (M002) and scans on."""
    record = {
        "chosen": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello."}],
        "rejected": [{"role": "user", "content": "Hey"}, {"role": "assistant", "content": "Go away."}],
    }
    with pytest.raises((ValueError, IndexError)):  # which, depends on the order of a set of column names in TRL
        run_trl([record], llama.hf, 1024, "keep_start", tmp_path)
    report = preflint.scan([record], tokenizer=llama, trainer="trl", select=["M002"], cache=False)
    assert list(report.findings.message) == [
        "the trainer's preprocessing fails on this row, which stops the run: the two dialogues differ from their "
        "first message, so the prompt TRL extracts is empty, and TRL raises on an empty conversation"
    ]


ULTRAFEEDBACK_ROW = {  # HuggingFaceH4/ultrafeedback_binarized's shape: a prompt column beside whole dialogues
    "prompt": "What is 2+2?",
    "chosen": [{"role": "user", "content": "What is 2+2?"}, {"role": "assistant", "content": "4"}],
    "rejected": [{"role": "user", "content": "What is 2+2?"}, {"role": "assistant", "content": "5"}],
}


def test_a_text_prompt_column_beside_dialogues_stops_trl_and_is_reported(llama, tmp_path):
    with pytest.raises((TypeError, AttributeError)):  # str + list, or str.endswith on a list: TRL picks by set order
        run_trl([ULTRAFEEDBACK_ROW], llama.hf, 1024, "keep_start", tmp_path)
    report = preflint.scan([ULTRAFEEDBACK_ROW], tokenizer=llama, trainer="trl", cache=False)
    assert list(report.findings.code) == ["M002"]
    assert "TRL raises on a text prompt beside message responses" in report.findings.message[0]
    assert "remove the prompt column, the dialogues hold the prompt" in report.findings.message[0]


def test_a_message_prompt_column_beside_dialogues_is_trained_twice_as_trl_does(llama, tmp_path, write_jsonl):
    record = {**ULTRAFEEDBACK_ROW, "prompt": ULTRAFEEDBACK_ROW["chosen"][:1]}
    data = write_jsonl([record], name="uf.jsonl")
    expected = run_trl([record], llama.hf, 1024, "keep_start", tmp_path)
    ours, dropped = run_preflint(data, None, llama, 1024, "keep_start")
    assert not dropped and ours == {row: tuple(ids) for row, ids in expected.items()}
    report = preflint.scan(str(data), tokenizer=llama, trainer="trl", cache=False)
    assert list(report.findings.code) == ["M010"]  # not M001's "merge" nor M005's early end of turn
    assert "TRL takes the prompt column, then each whole dialogue after it" in report.findings.message[0]


def _user(text):
    return [{"role": "user", "content": text}]


def _reply(text):
    return [{"role": "assistant", "content": text}]


# Shapes and texts beyond the test data; each goes through TRL alone (TRL reads a dataset's shape from its first row).
EDGE_ROWS = {
    "text, empty chosen": {"prompt": "Hi", "chosen": "", "rejected": " Bye."},
    "text, chosen ends with EOS already": {"prompt": "Hi", "chosen": " Bye.<|eot_id|>", "rejected": " No."},
    "text, the prompt fills max_length": {"prompt": "word " * 80, "chosen": " a", "rejected": " b"},
    "text, a prompt of spaces": {"prompt": "  ", "chosen": "Assistant:", "rejected": "a b"},
    "implicit text, replies share their first letters": {
        "chosen": "\n\nHuman: q\n\nAssistant: Duck",
        "rejected": "\n\nHuman: q\n\nAssistant: Dunno",
    },
    "text with a system column": {"system": "Be brief.", "prompt": "Hi", "chosen": " Hello.", "rejected": " Go."},
    "chat with a system column": {
        "system": "Be brief.",
        "prompt": _user("Hi"),
        "chosen": _reply("Hello."),
        "rejected": _reply("Go."),
    },
    "chat with a system message": {
        "prompt": [{"role": "system", "content": "Be brief."}, *_user("Hi")],
        "chosen": _reply("Hello."),
        "rejected": _reply("Go."),
    },
    "chat, an empty reply": {"prompt": _user("Hi"), "chosen": _reply(""), "rejected": _reply("Go.")},
    "implicit chat": {"chosen": _user("Hi") + _reply("Hello."), "rejected": _user("Hi") + _reply("Go.")},
    "implicit chat, differing first messages": {
        "chosen": _user("Hi") + _reply("Hello."),
        "rejected": _user("Hey") + _reply("Go."),
    },
    "a text prompt beside dialogues": {
        "prompt": "Hi",
        "chosen": _user("Hi") + _reply("Hello."),
        "rejected": _user("Hi") + _reply("Go."),
    },
    "a message prompt beside dialogues": {
        "prompt": _user("Hi"),
        "chosen": _user("Hi") + _reply("Hello."),
        "rejected": _user("Hi") + _reply("Go."),
    },
    "a message prompt beside text replies": {"prompt": _user("Hi"), "chosen": "Hello.", "rejected": "Go."},
    "a message prompt, a text and a message reply": {
        "prompt": _user("Hi"),
        "chosen": _reply("Hello."),
        "rejected": "Go.",
    },
    "a message prompt beside single-message replies": {
        "prompt": _user("Hi"),
        "chosen": _reply("Hello.")[0],
        "rejected": _reply("Go.")[0],
    },
    "LLaMA-Factory's format as published": {
        "conversations": [{"from": "human", "value": "Hi"}],
        "chosen": {"from": "gpt", "value": "Hello."},
        "rejected": {"from": "gpt", "value": "Go."},
    },
}


@pytest.mark.parametrize("name", list(EDGE_ROWS))
@pytest.mark.parametrize("tokenizer_name", ["llama", "sentencepiece"])  # SentencePiece's v1 model: no chat template
def test_trl_profile_predicts_what_trl_does_with_edge_rows(name, tokenizer_name, request, tmp_path, write_jsonl):
    """Trained ids, a dropped row, or an error that stops TRL: preflint predicts which, and the ids."""
    record, tokenizer = EDGE_ROWS[name], request.getfixturevalue(tokenizer_name)
    try:
        trl = run_trl([record], tokenizer.hf, 64, "keep_start", tmp_path)
        expected = ("trained", trl[0][:3]) if trl else ("dropped", None)
    except Exception:  # the error's type depends on the order of a set of column names inside TRL
        expected = ("raises", None)
    data = write_jsonl([record], name="row.jsonl")
    settings = Settings(trainer="trl", max_length=64)
    [(batch, _)] = pair_batches(resolve_sources([str(data)]), settings, tokenizer, simulate=True)
    row = batch.trainer[0]
    if row.failure or row.dropped:
        ours = ("raises" if row.failure else "dropped", None)
    else:
        ours = (
            "trained",
            (
                row.chosen.joint_ids[: row.chosen.completion_start],
                row.chosen.completion_ids,
                row.rejected.completion_ids,
            ),
        )
    assert ours == expected


def test_columns_under_other_names_get_a_note_as_trl_reads_only_its_own(llama, tmp_path, write_jsonl, capsys):
    """Given `question` and no `prompt`, TRL takes the replies' common start as the prompt and never sees the
    question; preflint checks the row as if the column were renamed, and says so once per input."""
    record = {"question": "What is the capital of France?", "chosen": "Paris is.", "rejected": "Paris, no: Rome."}
    [trained] = run_trl([record], llama.hf, 64, "keep_start", tmp_path).values()
    assert "France" not in llama.hf.decode(trained[0]) and llama.hf.decode(trained[0]).endswith("Paris")
    data = write_jsonl([record], name="orca.jsonl")
    assert main(["scan", str(data), "--trainer", "trl", "--format", "json"]) == 0
    [source] = json.loads(capsys.readouterr().out)["summary"]["sources"]
    assert source["trainer_note"] == (
        "TRL reads its columns by name: checked as if question were prompt; rename it before training (without a "
        "prompt column TRL takes the common start of chosen and rejected as the prompt)"
    )
    for trainer in ("openrlhf", "plain"):  # OpenRLHF's prompt key is an option; plain is no trainer of fixed names
        assert main(["scan", str(data), "--trainer", trainer]) == 0
        assert "note:" not in capsys.readouterr().out
    named = write_jsonl([{"prompt": record["question"], "chosen": "Paris.", "rejected": "Rome."}], name="trl.jsonl")
    assert main(["scan", str(named), "--trainer", "trl"]) == 0
    assert "note:" not in capsys.readouterr().out
