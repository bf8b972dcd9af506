"""The README's rule table, its scan example and its Python example: these keep them current."""

from pathlib import Path

from preflint.cli import main, rules_markdown
from preflint.registry import Registry

from .conftest import data_file

README = Path(__file__).resolve().parent.parent / "README.md"


def test_readme_rule_table_matches_the_registry():
    text = README.read_text(encoding="utf-8")
    start = text.index("-->\n", text.index("<!-- rules-table")) + len("-->\n")
    end = text.index("<!-- /rules-table -->")
    assert text[start:end] == rules_markdown(Registry.load()), "run `preflint rules --format markdown` and paste it"


def test_readme_python_example_runs(tmp_path, monkeypatch):
    text = README.read_text(encoding="utf-8")
    section = text[text.index("## Python API") :]
    code = section[
        section.index("```python\n") + len("```python\n") : section.index("```\n", section.index("```python"))
    ]
    monkeypatch.chdir(tmp_path)
    exec(compile(code, "README.md (Python API)", "exec"), {})  # noqa: S102 - the README's own example


def test_readme_scan_example_is_what_the_scan_prints(capsys, monkeypatch):
    text = README.read_text(encoding="utf-8")
    command = "$ preflint scan hh-rlhf-harmless-test.jsonl --tokenizer llama --limit 1\n"
    shown = text[text.index(command) + len(command) :]
    shown = shown[: shown.index("```")]
    monkeypatch.chdir(data_file("hh-rlhf-harmless-test.jsonl").parent)
    assert main(["scan", "hh-rlhf-harmless-test.jsonl", "--tokenizer", "llama", "--limit", "1", "--no-cache"]) == 1
    assert capsys.readouterr().out.startswith(shown), "paste the scan's output into the README"
