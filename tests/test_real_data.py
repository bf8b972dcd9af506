"""The real datasets in tests/data, scanned as a user would (known defects listed in tests/data/README.md)."""

from collections import Counter

from preflint.config import Settings
from preflint.findings import Severity
from preflint.pipeline.plan import RunPlan
from preflint.pipeline.scan import scan

from .conftest import data_file


def test_hh_rlhf_reports_exactly_its_known_defects(llama):
    result = scan([str(data_file("hh-rlhf-harmless-test.jsonl"))], RunPlan.build(Settings(), llama))
    errors = [f for f in result.findings if f.severity is Severity.ERROR]
    assert result.summary["rows"] == 2312
    assert Counter(f.code for f in errors) == {"P004": 4, "M008": 5}
    assert all("chosen response" in f.message for f in errors if f.code == "P004")
    assert result.summary["kinds"] == {"implicit": 2312}


def test_llamafactory_files_are_read_as_sharegpt_conversations(llama):
    for name in ("llamafactory-dpo-en-demo.json", "llamafactory-dpo-zh-demo.json"):
        result = scan([str(data_file(name))], RunPlan.build(Settings(), llama))
        assert result.summary["rows"] == 300
        assert result.summary["kinds"] == {"conversational": 300}
        assert result.summary["sources"][0]["columns"] == "prompt=conversations, chosen=chosen, rejected=rejected"
        # rendered with the Llama 3 template: the prompt ends with the assistant header
        assert result.summary["mean_tokens"]["prompt"] > 20


def test_torchtune_file_works_with_map(llama):
    settings = Settings(map={"prompt": "question", "chosen": "response_j", "rejected": "response_k"})
    result = scan([str(data_file("torchtune-stack-exchange-paired-tiny.json"))], RunPlan.build(settings, llama))
    assert result.summary["rows"] == 25
    assert result.summary["usable_rows"] == 25
    assert result.summary["sources"][0]["columns"] == "prompt=question, chosen=response_j, rejected=response_k"


def _rows_by_code(result):
    found = {}
    for finding in result.findings:
        found.setdefault(finding.code, []).append(finding.row)
    return found


def test_pair_and_whitespace_rules_on_the_real_files(llama):
    """Every warning here was read and judged by hand (see the issue notes); nothing else may appear."""
    hh = scan([str(data_file("hh-rlhf-harmless-test.jsonl"))], RunPlan.build(Settings(), llama))
    # "You're welcome." vs "You're welcome!", preferred one way in row 74 and the other way in rows 435 and 1068
    assert _rows_by_code(hh) == {
        "M008": [1254, 1688, 1950, 1952, 2036],
        "P003": [74, 435, 1068],
        "P004": [86, 516, 925, 1103],
        "D004": [None] * 6,  # six clusters of near-identical dialogues (e.g. rows 228 and 1160, 607 and 745)
    }
    assert "rows 228, 1160" in next(f.message for f in hh.findings if f.code == "D004")

    en = scan([str(data_file("llamafactory-dpo-en-demo.json"))], RunPlan.build(Settings(), llama))
    # mojibake ("fiancÃ©"), 8 stray BOMs, a form feed
    assert _rows_by_code(en) == {"W004": [15, 67, 286], "D001": [157, 186, 230, 248, 275]}

    zh = scan([str(data_file("llamafactory-dpo-zh-demo.json"))], RunPlan.build(Settings(), llama))
    # a zero-width space, and six rows whose text lost bytes in decoding (U+FFFD)
    assert _rows_by_code(zh)["W004"] == [0, 41, 55, 123, 191, 251, 283]
    assert sorted(_rows_by_code(zh)) == ["D001", "W004"] and len(_rows_by_code(zh)["D001"]) == 11
    assert all("U+FFFD" in f.message for f in zh.findings if f.code == "W004" and f.row != 0)
