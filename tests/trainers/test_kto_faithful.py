"""The `kto` profile against TRL itself: TRL's own KTO preprocessing (`KTOTrainer._prepare_dataset`) and collator
(`DataCollatorForUnpairedPreference`) run on real data (LLaMA-Factory's KTO demo, in conversations; pairs, which TRL
unpairs; text examples), and preflint must produce the same prompt and completion ids, the same input ids and
completion masks, and drop the same examples."""

import json
from types import SimpleNamespace

import pytest
from datasets import Dataset
from trl import KTOConfig
from trl.trainer.kto_trainer import DataCollatorForUnpairedPreference, KTOTrainer

from preflint.config import Settings
from preflint.io.sources import resolve_sources

from ..conftest import data_file
from . import pair_batches
from .test_trl_faithful import hh_records, torchtune_records


def llamafactory_kto_records():
    """LLaMA-Factory's KTO rows (messages + label) in TRL's conversational unpaired format, converted here."""
    return [
        {"prompt": record["messages"][:-1], "completion": record["messages"][-1:], "label": record["label"]}
        for record in json.loads(data_file("llamafactory-kto-en-demo.json").read_text(encoding="utf-8"))
    ]


def text_kto_records():
    """StackExchange pairs as text examples: the preferred answer desirable, the other undesirable."""
    return [
        {"prompt": pair["prompt"], "completion": pair[side], "label": side == "chosen"}
        for pair in torchtune_records()
        for side in ("chosen", "rejected")
    ]


CASES = {  # the file preflint reads (None: TRL's records, written as a file) and the records TRL is given
    "llamafactory-kto": ("llamafactory-kto-en-demo.json", llamafactory_kto_records),
    "text": (None, text_kto_records),
    "hh-rlhf pairs": ("hh-rlhf-harmless-test.jsonl", hh_records),
}


def run_trl(records, tokenizer, max_length, tmp_path):
    """TRL's code path; returns {(row, label): (prompt ids, completion ids, input ids, completion mask)}."""
    args = KTOConfig(output_dir=str(tmp_path), max_length=max_length, report_to=[], use_cpu=True, bf16=False)
    trainer = SimpleNamespace(_tokenizer=tokenizer, calculate_KL=False, desirable_weight=1.0, undesirable_weight=1.0)
    dataset = Dataset.from_list([{**record, "row": index} for index, record in enumerate(records)])
    prepared = KTOTrainer._prepare_dataset(trainer, dataset, tokenizer, args, "train")
    collator = DataCollatorForUnpairedPreference(pad_token_id=0, max_length=max_length)
    out = {}
    for example in prepared:
        batch = collator.torch_call([example])
        out[(example["row"], example["label"])] = (
            example["prompt_ids"],
            example["completion_ids"],
            batch["input_ids"][0].tolist(),
            batch["completion_mask"][0].tolist(),
        )
    return out


def run_preflint(path, tokenizer, max_length, pairs):
    """The same, from the kto profile; a pair gives two examples (chosen desirable, rejected undesirable)."""
    settings = Settings(trainer="kto", max_length=max_length)
    out, dropped = {}, set()
    for batch, _ in pair_batches(resolve_sources([str(path)]), settings, tokenizer, simulate=True):
        for i, (row, trainer_row) in enumerate(zip(batch.rows, batch.trainer)):
            labels = (True, False) if pairs else (batch.samples[i].desirable,)
            if trainer_row.dropped:
                dropped.update((row, label) for label in labels)
                continue
            for label, (_, side) in zip(labels, trainer_row.sides()):
                out[(row, label)] = (
                    side.joint_ids[: side.completion_start],
                    side.completion_ids,
                    side.input_ids,
                    side.completion_mask,
                )
    return out, dropped


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("max_length", [1024, 128])
def test_kto_profile_matches_trl_on_real_data(case, max_length, llama, tmp_path, write_jsonl):
    name, records = CASES[case]
    records = records()
    path = data_file(name) if name else write_jsonl(records, name=f"{case}.jsonl")
    expected = run_trl(records, llama.hf, max_length, tmp_path)
    ours, dropped = run_preflint(path, llama, max_length, pairs=case.endswith("pairs"))
    assert set(ours) == set(expected), "the examples TRL keeps"
    assert not dropped & set(expected), "no example dropped that TRL keeps"
    mismatched = [key for key in expected if ours[key] != expected[key]]
    assert mismatched == []
    if max_length == 128:
        assert dropped, "at 128 tokens TRL drops examples with long prompts: the test must exercise dropping"
