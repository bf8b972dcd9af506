"""The engine runs rules it knows only by scope; a rule that raises stops the run with one line, not a traceback."""

import textwrap

import pytest

from preflint.cli import main

BROKEN_RULES = textwrap.dedent(
    '''
    from preflint.findings import Severity
    from preflint.rule import DatasetRule, RowRule


    class BrokenRow(RowRule):
        """Divides by zero on every batch."""

        code = "X001"
        name = "broken-row"
        family = "local"
        severity = Severity.WARNING

        def check(self, batch):
            for i in batch.usable():
                yield self.finding(batch.rows[i], str(1 / 0))


    class BrokenFinish(DatasetRule):
        """Fails only when it reports."""

        code = "X002"
        name = "broken-finish"
        family = "local"
        severity = Severity.WARNING

        def start(self):
            return 0

        def update(self, state, batch):
            return state + len(batch)

        def merge(self, state, other):
            return state + other

        def finish(self, state):
            raise KeyError("prompt")
    '''
)


@pytest.mark.parametrize(
    ("selected", "expected"),
    [
        ("X001", "rule X001 (broken-row) failed: ZeroDivisionError: division by zero (at "),
        ("X002", "rule X002 (broken-finish) failed: KeyError: 'prompt' (at "),
    ],
)
def test_a_rule_that_raises_is_a_one_line_error_naming_it(selected, expected, tmp_path, write_jsonl, capsys):
    (tmp_path / "checks.py").write_text(BROKEN_RULES)
    (tmp_path / "preflint.toml").write_text('plugins = ["checks.py"]\n')
    data = write_jsonl([{"prompt": "Q?", "chosen": "A.", "rejected": "B."}])
    code = main(["scan", str(data), "--config", str(tmp_path / "preflint.toml"), "--select", selected, "--no-cache"])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err and err.count("\n") == 1
    assert expected in err and "checks.py, line " in err and "a bug in preflint" not in err


def test_a_built_in_rule_that_raises_asks_for_a_report(monkeypatch, write_jsonl, capsys):
    from preflint.rules.p004_empty_response import EmptyResponse

    def broken(self, batch):
        raise IndexError("list index out of range")

    monkeypatch.setattr(EmptyResponse, "check", broken)
    data = write_jsonl([{"prompt": "Q?", "chosen": "A.", "rejected": "B."}])
    assert main(["scan", str(data), "--select", "P004", "--no-cache"]) == 2
    err = capsys.readouterr().err
    assert "rule P004 (empty-response) failed: IndexError" in err and err.endswith(
        "a bug in preflint: please report it\n"
    )
