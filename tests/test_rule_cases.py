"""Every rules/CODE.yml case file is the executable spec of its rule: each case's rows, scanned with only that
rule selected, must produce exactly the expected findings (row, message and, where given, fix).

A row may carry `_repeat: N` to stand for N identical rows (dataset rules need many). A file or a case may name
its `tokenizer` (a fixture: `llama`, BPE; `sentencepiece`; `chatml`) and `chat_template`, and a case may give
`settings` (trainer options) and `files` written beside the data: `{png: [width, height]}` a real image made with
Pillow, `{hex: ...}` those bytes.
A case with `fixed` also runs `preflint fix` (safe fixes; unsafe ones too with `unsafe_fixes: true`) and must
produce exactly those rows."""

from pathlib import Path

import pytest
import yaml

from preflint.config import Settings
from preflint.fixing.run import Outputs
from preflint.fixing.run import fix as run_fix
from preflint.pipeline.plan import RunPlan
from preflint.pipeline.scan import scan
from preflint.registry import Registry
from tests.conftest import read_jsonl

CASE_DIR = Path(__file__).resolve().parent.parent / "rules"
CASE_FILES = sorted(CASE_DIR.glob("*.yml"))


def _cases():
    for path in CASE_FILES:
        spec = yaml.safe_load(path.read_text(encoding="utf-8"))
        for index, case in enumerate(spec["cases"]):
            yield pytest.param(spec, case, id=f"{spec['code']}-{index}")


@pytest.mark.parametrize(("spec", "case"), list(_cases()))
def test_rule_case(spec, case, tmp_path, request, write_jsonl):
    if "rows" in case:
        data = write_jsonl([row for row in case["rows"] for _ in range(row.pop("_repeat", 1))])
    else:
        data = tmp_path / case.get("file", "data.jsonl")  # the format follows the name: data.csv is CSV
        data.write_bytes(bytes.fromhex(case["bytes"]) if "bytes" in case else case["lines"].encode("utf-8"))
    for name, made in case.get("files", {}).items():
        _write_file(tmp_path / name, made)
    tokenizer = request.getfixturevalue(case.get("tokenizer", spec.get("tokenizer", "llama")))
    template = case.get("chat_template", spec.get("chat_template"))
    if template:
        tokenizer = tokenizer.with_chat_template(template)
    options = dict(case.get("options", {}))
    if "reference" in case:
        options["against"] = [str(write_jsonl(case["reference"], name="reference.jsonl"))]
    settings = Settings(select=(spec["code"],), rules={spec["code"]: options}, **case.get("settings", {}))
    result = scan([str(data)], RunPlan.build(settings, tokenizer))

    found = [(f.row, f.message, f.fix.description if f.fix else None) for f in result.findings]
    expected = case["expect"]
    assert [row for row, *_ in found] == [e["row"] for e in expected], found
    for (_, message, fix), wanted in zip(found, expected):
        assert wanted["message"] in message
        if "fix" in wanted:
            assert wanted["fix"] in (fix or "")
    if "fixed" in case:
        out = tmp_path / "fixed.jsonl"
        run_fix([str(data)], RunPlan.build(settings, tokenizer), Outputs(out), unsafe=case.get("unsafe_fixes", False))
        assert read_jsonl(out) == case["fixed"]


def _write_file(path: Path, made: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if "png" in made:
        from PIL import Image

        Image.new("RGB", tuple(made["png"]), (90, 140, 200)).save(path, "PNG")
    else:
        path.write_bytes(bytes.fromhex(made["hex"]))


def test_every_rule_has_a_case_file_with_failing_and_passing_cases():
    specs = {path.stem: yaml.safe_load(path.read_text(encoding="utf-8")) for path in CASE_FILES}
    for rule in Registry.load():
        assert rule.code in specs, f"rules/{rule.code}.yml is missing"
        cases = specs[rule.code]["cases"]
        assert any(case["expect"] for case in cases), f"{rule.code}: no case that fails"
        assert any(not case["expect"] for case in cases), f"{rule.code}: no case that passes"


def test_every_rule_with_a_fix_shows_it_in_a_case():
    specs = {path.stem: yaml.safe_load(path.read_text(encoding="utf-8")) for path in CASE_FILES}
    for rule in Registry.load():
        if rule.fix is not None and rule.fix.action is not None:
            assert any("fixed" in case for case in specs[rule.code]["cases"]), f"{rule.code}: no case shows its fix"


def test_every_rule_is_documented_in_ruff_headings():
    for rule in Registry.load():
        doc = rule.documentation()
        for heading in ("## What it does", "## Why is this bad?", "## Example", "## Fix safety"):
            assert heading in doc, f"{rule.code} docs lack {heading!r}"
        assert rule.name == rule.name.lower() and " " not in rule.name
