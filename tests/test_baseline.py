"""--write-baseline records today's findings; --baseline then fails only on new ones, whatever the row order."""

import json

from .test_cli import run

IDENTICAL = {"prompt": "Capital of France?", "chosen": "Paris.", "rejected": "Paris."}
SPACE = {"prompt": "2+2?", "chosen": "4", "rejected": " 4"}
GOOD = {"prompt": "Name a color.", "chosen": "Blue.", "rejected": "The sky is blue, usually."}
NEW = {"prompt": "Largest planet?", "chosen": "Jupiter.", "rejected": "Jupiter."}


def test_only_new_findings_fail_after_reordering(capsys, write_jsonl, tmp_path):
    data = write_jsonl([IDENTICAL, GOOD, SPACE])
    baseline = tmp_path / "baseline.json"
    code, out, _ = run(capsys, "scan", str(data), "--write-baseline", "--baseline", str(baseline), "--no-cache")
    assert code == 0 and "recorded" in out
    recorded = json.loads(baseline.read_text())["entries"]
    assert {entry["code"] for entry in recorded} >= {"P001", "W001"}

    code, out, _ = run(capsys, "scan", str(data), "--baseline", str(baseline), "--no-cache")
    assert code == 0 and "All checks passed" in out and "covered by the baseline" in out

    write_jsonl([GOOD, NEW, SPACE, IDENTICAL])  # reordered, one row inserted
    code, out, _ = run(capsys, "scan", str(data), "--baseline", str(baseline), "--format", "json", "--no-cache")
    findings = json.loads(out)["findings"]
    assert code == 1 and [(f["code"], f["row"]) for f in findings] == [("P001", 1)]


def test_stale_entries_are_reported(capsys, write_jsonl, tmp_path):
    data = write_jsonl([IDENTICAL, GOOD])
    baseline = tmp_path / "baseline.json"
    run(capsys, "scan", str(data), "--write-baseline", "--baseline", str(baseline), "--no-cache")
    write_jsonl([GOOD])  # the identical pair was removed
    code, out, _ = run(capsys, "scan", str(data), "--baseline", str(baseline), "--no-cache")
    assert code == 0 and "no longer found" in out
    code, out, _ = run(capsys, "scan", str(data), "--baseline", str(baseline), "--no-cache", "--format", "markdown")
    assert code == 0 and "1 baseline entry no longer found" in out  # the report a CI job's summary shows
    code, out, _ = run(capsys, "scan", str(data), "--baseline", str(baseline), "--no-cache", "--format", "json")
    assert [entry["code"] for entry in json.loads(out)["summary"]["baseline"]["stale"]] == ["P001"]


def test_a_missing_or_foreign_baseline_is_a_clear_error(capsys, write_jsonl, tmp_path):
    data = write_jsonl([GOOD])
    code, _, err = run(capsys, "scan", str(data), "--baseline", str(tmp_path / "none.json"))
    assert code == 2 and "--write-baseline" in err
    foreign = tmp_path / "foreign.json"
    foreign.write_text('{"hello": 1}')
    code, _, err = run(capsys, "scan", str(data), "--baseline", str(foreign))
    assert code == 2 and "not a preflint baseline" in err


def test_a_baseline_named_in_the_config_is_written_and_used_from_any_subdirectory(capsys, tmp_path, monkeypatch):
    """`baseline = ...` in preflint.toml: --write-baseline writes it beside the config, later scans (the pre-commit
    hook's included) report only new findings, without --baseline."""
    (tmp_path / "preflint.toml").write_text('baseline = "accepted.json"\n')
    (tmp_path / "data").mkdir()
    data = tmp_path / "data" / "prefs.jsonl"
    data.write_text(json.dumps(IDENTICAL) + "\n" + json.dumps(GOOD) + "\n")
    monkeypatch.chdir(tmp_path / "data")
    code, out, _ = run(capsys, "scan", "prefs.jsonl", "--write-baseline", "--no-cache")
    assert code == 0 and "recorded" in out and (tmp_path / "accepted.json").is_file()
    code, out, _ = run(capsys, "scan", "prefs.jsonl", "--no-cache")
    assert code == 0 and "covered by the baseline" in out
    data.write_text(data.read_text() + json.dumps(NEW) + "\n")
    code, out, _ = run(capsys, "scan", "prefs.jsonl", "--no-cache", "--format", "json")
    assert code == 1 and [(f["code"], f["row"]) for f in json.loads(out)["findings"]] == [("P001", 2)]
