"""The KTO forecast against TRL's own KTOTrainer. KTO has no ln 2 (an example's loss moves with the batch's KL
estimate), so the forecast claims what TRL does with each example: the examples it drops (a prompt that fills
max_length) and those its preprocessing raises on; every other example is trained on completion tokens. Checked
with two steps of a real KTOTrainer run on a tiny random Llama with the Llama 3 vocabulary (22 rows of LLaMA-Factory's
KTO demo in TRL's conversational format, with prompts at both sides of max_length), and, for a completion of no
messages, with TRL's preprocessing under several Python hash seeds, which decide whether it raises."""

import json
import os
import subprocess
import sys

from benchmarks.training_signal import tiny_llama
from preflint.cli import main

from ..conftest import data_file

MAX_LENGTH = 64


def prompt_ids(tokenizer, prompt: list[dict]) -> list[int]:
    return tokenizer.apply_chat_template(prompt, add_generation_prompt=True, tokenize=True, return_dict=True)[
        "input_ids"
    ]


def demo_rows(tokenizer) -> list[dict]:
    """The demo's rows as TRL reads them (prompt, completion, label), those whose prompt is under 40 tokens."""
    rows = []
    for record in json.loads(data_file("llamafactory-kto-en-demo.json").read_text(encoding="utf-8")):
        prompt, completion = record["messages"][:-1], record["messages"][-1:]
        if len(prompt_ids(tokenizer, prompt)) < 40:
            rows.append({"prompt": prompt, "completion": completion, "label": record["label"]})
    return rows


def prompt_of(tokenizer, length: int, source: list[int]) -> list[dict]:
    """A one-message prompt cut from `source` that the chat template makes `length` tokens long."""
    cut = length
    for _ in range(4):
        prompt = [{"role": "user", "content": tokenizer.decode(source[:cut]).strip()}]
        found = len(prompt_ids(tokenizer, prompt))
        if found == length:
            return prompt
        cut += length - found
    raise AssertionError(f"no prompt of {length} tokens")


def kto_rows(tokenizer) -> tuple[list[dict], dict[str, set[int]]]:
    """22 rows, and the rows of each group."""
    real = demo_rows(tokenizer)
    source = tokenizer(" ".join(row["completion"][0]["content"] for row in real[:10]), add_special_tokens=False)
    reply = [{"role": "assistant", "content": "Sure."}]
    groups = {
        "real": real[:13],
        "an empty completion message": [{**real[13], "completion": [{"role": "assistant", "content": ""}]}],
        "the same example desirable and undesirable": [{**real[14], "label": True}, {**real[14], "label": False}],
        **{
            f"prompt of {length} tokens": [
                {"prompt": prompt_of(tokenizer, length, source["input_ids"][k * 80 :]), "completion": reply, "label": k}
                for k in (False, True)
            ]
            for length in (MAX_LENGTH - 1, MAX_LENGTH, MAX_LENGTH + 1)
        },
    }
    rows, members = [], {}
    for group, made in groups.items():
        members[group] = set(range(len(rows), len(rows) + len(made)))
        rows += made
    return rows, members


def train_kto(rows: list[dict], model, work, steps: int = 2):
    """TRL's KTOTrainer on CPU, as a user runs it (conversational rows, max_length 64), from `model`."""
    from datasets import Dataset
    from transformers import AutoTokenizer
    from trl import KTOConfig, KTOTrainer

    args = KTOConfig(
        output_dir=str(work),
        max_length=MAX_LENGTH,
        per_device_train_batch_size=4,
        max_steps=steps,
        learning_rate=1e-3,
        precompute_ref_log_probs=True,  # the reference's log-probabilities, at the initial weights, kept
        save_strategy="no",
        report_to=[],
        use_cpu=True,
        bf16=False,
        seed=0,
        disable_tqdm=True,
    )
    dataset = Dataset.from_list([{**row, "row": index} for index, row in enumerate(rows)])
    trainer = KTOTrainer(
        model=str(model), args=args, train_dataset=dataset, processing_class=AutoTokenizer.from_pretrained(model)
    )
    trainer.train()
    return trainer


def completion_logps(trainer) -> dict[int, tuple[float, float]]:
    """Each kept example's completion log-probability through TRL's collator and TRL's code: under the trained
    model, and the reference's TRL precomputed at the initial weights."""
    import torch

    examples, logps = trainer.train_dataset, {}
    columns = [name for name in examples.column_names if name != "row"]
    for start in range(0, len(examples), 8):
        batch = examples[start : start + 8]
        inputs = trainer.data_collator([dict(zip(columns, values)) for values in zip(*(batch[c] for c in columns))])
        with torch.no_grad():
            trained, _ = trainer.compute_ref_log_probs(trainer.model.eval(), inputs)
        for row, policy, reference in zip(batch["row"], trained.tolist(), inputs["ref_logps"].tolist()):
            logps[row] = (policy, reference)
    return logps


def scan(data, model, tmp_path) -> dict:
    report = tmp_path / "scan.json"
    argv = ["scan", str(data), "--tokenizer", str(model), "--trainer", "kto", "--max-length", str(MAX_LENGTH)]
    main([*argv, "--no-cache", "--format", "json", "-o", str(report)])
    return json.loads(report.read_text(encoding="utf-8"))


def test_the_examples_the_kto_forecast_names_are_those_trl_drops_and_it_trains_every_other(
    llama, tmp_path, write_jsonl
):
    rows, groups = kto_rows(llama.hf)
    model = tiny_llama(llama.hf, tmp_path / "model")
    report = scan(write_jsonl(rows), model, tmp_path)
    forecast = report["summary"]["forecast"]
    named = {finding["row"] for finding in report["findings"] if finding.get("no_signal")}
    assert forecast == {**forecast, "examples": len(rows), "no_signal": len(named), "dropped": len(named)}
    assert "loss_floor" not in forecast, "KTO's loss pins no example at a value"

    trainer = train_kto(rows, model, tmp_path / "run")
    kept = set(trainer.train_dataset["row"])
    assert set(range(len(rows))) - kept == named, "the examples TRL drops"
    logps = completion_logps(trainer)
    assert all(policy < 0 and reference < 0 for policy, reference in logps.values()), "each trained on its tokens"
    # the data reaches both sides of the edge, so a simulation off by one token cannot pass
    assert named == groups[f"prompt of {MAX_LENGTH} tokens"] | groups[f"prompt of {MAX_LENGTH + 1} tokens"]


# TRL's preprocessing of one conversational example whose completion has no message, in a process whose hash seed
# the parent sets: what it raised, or how many completion tokens its collator gives the example.
PREPARE = """
import json, sys
from types import SimpleNamespace
from datasets import Dataset
from transformers import AutoTokenizer
from trl import KTOConfig
from trl.trainer.kto_trainer import DataCollatorForUnpairedPreference, KTOTrainer

tokenizer = AutoTokenizer.from_pretrained(sys.argv[1])
args = KTOConfig(output_dir=sys.argv[2], max_length=64, report_to=[], use_cpu=True, bf16=False)
trainer = SimpleNamespace(_tokenizer=tokenizer, calculate_KL=False, desirable_weight=1.0, undesirable_weight=1.0)
try:
    prepared = KTOTrainer._prepare_dataset(trainer, Dataset.from_list(json.loads(sys.argv[3])), tokenizer, args, "x")
except Exception as error:
    print(json.dumps({"raised": type(error).__name__}))
else:
    batch = DataCollatorForUnpairedPreference(pad_token_id=0, max_length=64).torch_call(list(prepared))
    print(json.dumps({"completion_tokens": batch["completion_mask"].sum(1).tolist()}))
"""


def test_a_completion_of_no_messages_is_named_as_trl_raises_on_it_by_hash_seed(llama, tmp_path, write_jsonl):
    user = [{"role": "user", "content": "What is the capital of France?"}]
    rows = [
        {"prompt": user, "completion": [{"role": "assistant", "content": "Paris."}], "label": True},
        {"prompt": user, "completion": [], "label": False},
    ]
    llama.hf.save_pretrained(tmp_path / "tokenizer")
    report = scan(write_jsonl(rows), tmp_path / "tokenizer", tmp_path)
    assert report["summary"]["forecast"]["failing"] == 1
    [finding] = [finding for finding in report["findings"] if finding["code"] == "M002"]
    assert finding["row"] == 1 and "Python's hash seed decides anew in each run" in finding["message"]

    outcomes = set()
    for seed in range(8):
        command = [sys.executable, "-c", PREPARE, str(tmp_path / "tokenizer"), str(tmp_path), json.dumps(rows)]
        process = subprocess.run(
            command, capture_output=True, text=True, env={**os.environ, "PYTHONHASHSEED": str(seed)}, check=True
        )
        outcomes.add(json.dumps(json.loads(process.stdout.splitlines()[-1])))
        if len(outcomes) == 2:
            break
    assert outcomes == {'{"raised": "IndexError"}', '{"completion_tokens": [3, 0]}'}, "raises, or trains no token"
