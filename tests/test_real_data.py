"""The shared real datasets, scanned as a user would (known defects listed in ../shared/data/README.md)."""

from collections import Counter

from preflint.config import Settings
from preflint.findings import Severity
from preflint.scan import scan

from .conftest import shared


def test_hh_rlhf_reports_exactly_its_known_defects(llama):
    result = scan([str(shared("hh-rlhf-harmless-test.jsonl"))], Settings(), tokenizer=llama)
    errors = [f for f in result.findings if f.severity is Severity.ERROR]
    assert result.summary["rows"] == 2312
    assert Counter(f.code for f in errors) == {"P004": 4, "M008": 5}
    assert all("chosen response" in f.message for f in errors if f.code == "P004")
    assert result.summary["kinds"] == {"implicit": 2312}


def test_llamafactory_files_are_read_as_sharegpt_conversations(llama):
    for name in ("llamafactory-dpo-en-demo.json", "llamafactory-dpo-zh-demo.json"):
        result = scan([str(shared(name))], Settings(), tokenizer=llama)
        assert result.summary["rows"] == 300
        assert result.summary["kinds"] == {"conversational": 300}
        assert result.summary["sources"][0]["columns"] == "prompt=conversations, chosen=chosen, rejected=rejected"
        # rendered with the Llama 3 template: the prompt ends with the assistant header
        assert result.summary["mean_tokens"]["prompt"] > 20


def test_torchtune_file_works_with_map(llama):
    settings = Settings(map={"prompt": "question", "chosen": "response_j", "rejected": "response_k"})
    result = scan([str(shared("torchtune-stack-exchange-paired-tiny.json"))], settings, tokenizer=llama)
    assert result.summary["rows"] == 25
    assert result.summary["usable_rows"] == 25
    assert result.summary["sources"][0]["columns"] == "prompt=question, chosen=response_j, rejected=response_k"
