"""`preflint fix`: accounting, idempotence on the real test data, shapes kept, outputs atomic and never over an
input."""

import json
import os
import signal
import subprocess
import sys
import time

import pyarrow.parquet as pq
import pytest

from preflint.cli import main
from preflint.config import Settings
from preflint.fixing.policy import FixPolicy
from preflint.fixing.run import Outputs, fix
from preflint.pipeline.plan import RunPlan
from preflint.pipeline.scan import scan
from tests.conftest import data_file, read_jsonl

SHARED = [
    "hh-rlhf-harmless-test.jsonl",
    "llamafactory-dpo-en-demo.json",
    "llamafactory-dpo-zh-demo.json",
    "torchtune-stack-exchange-paired-tiny.json",
]
DEFECTIVE = [
    {"prompt": "Capital of France?", "chosen": " Paris.", "rejected": "Rome."},  # W001: edited
    {"prompt": "Capital of France?", "chosen": "Paris.", "rejected": "Paris."},  # P001: dropped
    {"prompt": "2+2?", "chosen": "4", "rejected": "5", "score_chosen": 1, "score_rejected": 9},  # L001: unsafe swap
    {"prompt": "Say hi", "chosen": "Hi!\u200b", "rejected": "Hello."},  # W004: edited
    {"prompt": "Name a color", "chosen": "Red. ", "rejected": "Red."},  # W002, then P001 on the second pass
    {"prompt": "Capital of France?", "chosen": "Paris.", "rejected": "Paris."},  # D001 and P001: dropped
    {"prompt": "Good?", "chosen": "Yes, quite.", "rejected": "No."},  # clean
]


@pytest.fixture
def defective(tmp_path):
    path = tmp_path / "defective.jsonl"
    lines = [json.dumps(row, ensure_ascii=False) for row in DEFECTIVE]
    lines.insert(3, "{not json")  # S001: row 3, always dropped
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _fix(data, out, llama, **options):
    unsafe = options.pop("unsafe", False)
    return fix([str(data)], RunPlan.build(Settings(), llama), Outputs(out, **options), unsafe=unsafe)


@pytest.mark.parametrize("name", SHARED + ["defective"])
def test_every_row_read_is_kept_or_dropped_with_a_reason(name, tmp_path, llama, request):
    data = request.getfixturevalue("defective") if name == "defective" else data_file(name)
    out, rejects = tmp_path / "clean.parquet", tmp_path / "dropped.jsonl"
    result = _fix(data, out, llama, rejects=rejects, unsafe=True)
    accounting = result.accounting()
    assert accounting["rows_read"] == accounting["rows_kept"] + accounting["rows_dropped"]
    assert accounting["rows_dropped"] == sum(accounting["dropped_by_reason"].values())
    assert pq.read_metadata(out).num_rows == accounting["rows_kept"]
    dropped = read_jsonl(rejects)
    assert len(dropped) == accounting["rows_dropped"]
    assert all(line["codes"] and line["messages"] and line["record"] for line in dropped)
    kept_and_dropped = sorted([r["row"] for r in dropped])
    assert len(set(kept_and_dropped)) == len(kept_and_dropped)


def test_defective_rows_are_fixed_as_each_rule_declares(defective, tmp_path, llama):
    out, rejects = tmp_path / "clean.jsonl", tmp_path / "dropped.jsonl"
    result = _fix(defective, out, llama, rejects=rejects)
    assert read_jsonl(out) == [
        {"prompt": "Capital of France?", "chosen": " Paris.", "rejected": " Rome."},
        {"prompt": "2+2?", "chosen": "4", "rejected": "5", "score_chosen": 1, "score_rejected": 9},
        {"prompt": "Say hi", "chosen": "Hi!", "rejected": "Hello."},
        {"prompt": "Good?", "chosen": "Yes, quite.", "rejected": "No."},
    ]
    reasons = {line["row"]: line["codes"] for line in read_jsonl(rejects)}
    # W002 stripped row 5 ("Red. " / "Red."), which made it identical: the second pass dropped it
    assert reasons == {1: ["P001"], 3: ["S001"], 5: ["W002", "P001"], 6: ["D001", "P001"]}
    assert "{not json" in next(line["record"] for line in read_jsonl(rejects) if line["row"] == 3)
    assert result.passes == 2 and [f.code for f in result.remaining] == ["L001"]  # unsafe: not applied by default

    unsafe = _fix(defective, tmp_path / "unsafe.jsonl", llama, unsafe=True)
    assert {"prompt": "2+2?", "chosen": "5", "rejected": "4", "score_chosen": 9, "score_rejected": 1} in read_jsonl(
        tmp_path / "unsafe.jsonl"
    )
    assert unsafe.remaining == []


@pytest.mark.parametrize("name", SHARED)
def test_fix_is_idempotent_on_the_real_test_data(name, tmp_path, llama):
    out, again = tmp_path / "clean.parquet", tmp_path / "again.parquet"
    _fix(data_file(name), out, llama)
    second = _fix(out, again, llama)
    assert second.accounting()["rows_dropped"] == 0 and second.accounting()["rows_fixed_by_code"] == {}
    assert pq.read_table(again).equals(pq.read_table(out))
    policy = FixPolicy.from_plan(RunPlan.build(Settings()), unsafe=False)
    rescanned = scan([str(out)], RunPlan.build(Settings(), llama))
    assert [f for f in rescanned.findings if policy.applies(f)] == []


def test_output_keeps_shape_and_columns_and_loads_with_datasets(tmp_path, llama):
    import datasets

    out = tmp_path / "clean.parquet"
    result = _fix(data_file("llamafactory-dpo-en-demo.json"), out, llama, provenance=True)
    assert result.dropped == {"D001": 5}
    loaded = datasets.load_dataset("parquet", data_files=str(out), split="train")
    original = json.loads(data_file("llamafactory-dpo-en-demo.json").read_text(encoding="utf-8"))
    assert loaded.column_names == [*original[0].keys(), "preflint_row", "preflint_fixes"]
    assert len(loaded) == 295
    first = loaded[0]
    assert first["conversations"] == original[0]["conversations"]  # ShareGPT messages stay messages
    assert first["chosen"] == original[0]["chosen"]
    assert loaded["preflint_row"][:3] == [0, 1, 2] and 157 not in loaded["preflint_row"]  # row 157 is a duplicate
    fixed_rows = [row for row, fixes in zip(loaded["preflint_row"], loaded["preflint_fixes"]) if fixes]
    assert fixed_rows == [67]  # row 67's 8 stray BOMs; row 286's form feed is left for a person


def test_diff_shows_changes_and_writes_nothing(defective, tmp_path, capsys):
    before = sorted(os.listdir(tmp_path))
    assert main(["fix", str(defective), "--diff", "--no-progress"]) == 1
    shown = capsys.readouterr().out
    assert '-  "rejected": "Rome."' in shown and '+  "rejected": " Rome."' in shown
    assert f"--- {defective}:1 (row 0)\n+++ fixed (W001)" in shown  # the line the row is on, and its number
    assert (
        "defective.jsonl:2 (row 1): dropped" in shown
        and "defective.jsonl:4 (row 3): dropped" in shown
        and "P001: chosen and rejected are identical" in shown
    )
    assert sorted(os.listdir(tmp_path)) == before


def test_diff_names_a_row_of_a_file_without_lines_by_its_number(tmp_path, capsys):
    import pyarrow as pa

    data = tmp_path / "pairs.parquet"
    pq.write_table(pa.Table.from_pylist([row for row in DEFECTIVE[:2]]), data)
    assert main(["fix", str(data), "--diff", "--no-progress"]) == 1
    shown = capsys.readouterr().out
    assert f"{data} row 1: dropped" in shown and f"--- {data} row 0\n" in shown


def test_diff_with_an_output_says_which_output_to_drop(defective, tmp_path, capsys):
    assert (
        main(
            ["fix", str(defective), "--diff", "--out", str(tmp_path / "x.jsonl"), "--report", str(tmp_path / "r.html")]
        )
        == 2
    )
    assert "--diff writes nothing: drop --out, --report" in capsys.readouterr().err
    assert main(["fix", str(defective)]) == 2
    assert "give --out PATH to write the fixed data, or --diff to see the changes" in capsys.readouterr().err


def test_one_row_is_spoken_of_in_the_singular(write_jsonl, capsys):
    assert main(["fix", str(write_jsonl([{"prompt": "Q?", "chosen": "A.", "rejected": "A."}])), "--diff"]) == 1
    assert "1 row read = 0 kept + 1 dropped" in capsys.readouterr().out


def test_remaining_findings_name_only_the_kinds_there_are(write_jsonl, capsys):
    data = write_jsonl(
        [{"prompt": "", "chosen": " A.", "rejected": " B."}, {"prompt": "Q?", "chosen": " Hi!", "rejected": " Hi."}]
    )
    main(["fix", str(data), "--diff", "--select", "S004"])
    assert (
        "remaining: 1 finding (S004 1): 1 for a person to judge (preflint scan shows them)" in capsys.readouterr().out
    )
    main(["fix", str(data), "--diff", "--select", "P003"])
    assert "remaining: 1 finding (P003 1): 1 unsafe fix available with --unsafe-fixes\n" in capsys.readouterr().out
    many = write_jsonl(
        [{"prompt": "", "chosen": f" A{n}.", "rejected": f" B{n}."} for n in range(1200)], name="many.jsonl"
    )
    main(["fix", str(many), "--diff", "--select", "S004"])
    assert "remaining: 1,200 findings (S004 1,200): 1,200 for a person to judge" in capsys.readouterr().out


def test_a_row_both_edited_and_dropped_is_dropped(tmp_path, write_jsonl, capsys):
    """Its planned edit changes no row kept, so no second pass follows: the first pass's output is the final one."""
    data = write_jsonl(
        [
            {"prompt": "\ufeffWhat is 2+2?", "chosen": "4.", "rejected": "4."},  # W004's edit, P001's drop
            {"prompt": "Capital of France?", "chosen": "Paris.", "rejected": "Rome."},
        ]
    )
    out = tmp_path / "out.jsonl"
    assert main(["fix", str(data), "--out", str(out), "--no-progress"]) == 0
    assert "2 rows read = 1 kept + 1 dropped" in capsys.readouterr().out
    assert read_jsonl(out) == [{"prompt": "Capital of France?", "chosen": "Paris.", "rejected": "Rome."}]


def test_diff_shows_invisible_characters_it_removes(tmp_path, write_jsonl, capsys):
    """A W004 change would be two lines that look the same: what was removed is shown escaped."""
    data = write_jsonl([{"prompt": "Capital\u00a0of France?", "chosen": "Paris.\u200b", "rejected": "Rome.\ufeff"}])
    assert main(["fix", str(data), "--diff", "--no-progress"]) == 1
    shown = capsys.readouterr().out
    assert '-  "prompt": "Capital\\u00a0of France?",' in shown and '+  "prompt": "Capital of France?",' in shown
    assert '-  "chosen": "Paris.\\u200b",' in shown and '-  "rejected": "Rome.\\ufeff"' in shown


def test_outputs_never_overwrite_the_input_or_an_existing_file(defective, tmp_path, capsys):
    original = defective.read_bytes()
    assert main(["fix", str(defective), "--out", str(defective), "--force", "--no-progress"]) == 2
    assert "is an input" in capsys.readouterr().err
    assert defective.read_bytes() == original
    existing = tmp_path / "clean.jsonl"
    existing.write_text("keep me\n")
    assert main(["fix", str(defective), "--out", str(existing), "--no-progress"]) == 2
    assert "exists; pass --force" in capsys.readouterr().err
    assert existing.read_text() == "keep me\n"
    assert main(["fix", str(defective), "--out", str(existing), "--force", "--no-progress", "--exit-zero"]) == 0
    assert len(read_jsonl(existing)) == 4
    assert main(["fix", str(defective), "--out", str(tmp_path / "clean.csv")]) == 2


def test_no_output_replaces_a_file_the_run_reads_or_another_output(defective, tmp_path, capsys):
    """A reference set (--against, a glob too), a baseline and the other outputs are as safe as the data."""
    reference = tmp_path / "test.jsonl"
    reference.write_text('{"prompt": "2+2?", "chosen": "4", "rejected": "5"}\n')
    original = reference.read_bytes()
    for against in (reference, tmp_path / "te*.jsonl"):
        assert main(["fix", str(defective), "--against", str(against), "--out", str(reference), "--force"]) == 2
        assert "is an input; preflint never writes over its input" in capsys.readouterr().err
    assert main(["scan", str(defective), "--against", str(reference), "-o", str(reference), "--no-cache"]) == 2
    assert reference.read_bytes() == original
    baseline = tmp_path / "baseline.json"
    assert main(["scan", str(defective), "--baseline", str(baseline), "--write-baseline"]) == 0
    recorded = baseline.read_bytes()
    assert main(["scan", str(defective), "--baseline", str(baseline), "-o", str(baseline)]) == 2
    assert "--output-file" in capsys.readouterr().err and baseline.read_bytes() == recorded
    clean = tmp_path / "clean.parquet"
    assert main(["fix", str(defective), "--out", str(clean), "--rejects", str(clean)]) == 2
    assert f"--rejects {clean} is also --out: give each output its own file" in capsys.readouterr().err
    assert main(["fix", str(defective), "--out", str(tmp_path / "x.json"), "--report", str(tmp_path / "x.json")]) == 2
    assert sorted(path.name for path in tmp_path.iterdir()) == ["baseline.json", "defective.jsonl", "test.jsonl"]


def test_when_every_row_is_dropped_the_parquet_output_keeps_the_columns(tmp_path, write_jsonl, llama):
    data = write_jsonl([{"prompt": f"Q{n}?", "chosen": "Same.", "rejected": "Same.", "score": n} for n in range(2)])
    result = _fix(data, tmp_path / "clean.parquet", llama)
    assert result.dropped == {"P001": 2}
    table = pq.read_table(tmp_path / "clean.parquet")
    assert (table.num_rows, table.column_names) == (0, ["prompt", "chosen", "rejected", "score"])


def test_when_no_row_is_dropped_the_parquet_rejects_still_have_their_columns(tmp_path, write_jsonl, capsys):
    """A pipeline that reads the rejects' `reason` column must not break on a clean dataset."""
    data = write_jsonl([{"prompt": "Q?", "chosen": "Yes.", "rejected": "No."}])
    rejects = tmp_path / "rejects.parquet"
    assert main(["fix", str(data), "--out", str(tmp_path / "clean.parquet"), "--rejects", str(rejects)]) == 0
    table = pq.read_table(rejects)
    assert (table.num_rows, table.column_names) == (0, ["row", "source", "reason", "codes", "messages", "record"])


def test_config_decides_which_fixes_apply(defective, tmp_path, llama):
    settings = Settings(unfixable=("W",), extend_safe_fixes=("L001",))
    out = tmp_path / "clean.jsonl"
    result = fix([str(defective)], RunPlan.build(settings, llama), Outputs(out))
    rows = read_jsonl(out)
    assert {"prompt": "Capital of France?", "chosen": " Paris.", "rejected": "Rome."} in rows  # W001 unfixable
    assert {"prompt": "2+2?", "chosen": "5", "rejected": "4", "score_chosen": 9, "score_rejected": 1} in rows
    assert "L001" in result.fixed and "W001" not in result.fixed


def test_a_killed_write_leaves_no_partial_file(tmp_path):
    """SIGKILL in the middle of writing an output: the destination never appears, nothing is left beside it."""
    script = (
        "import os, signal, sys\n"
        "from pathlib import Path\n"
        "from preflint.io.outputs import atomic_write\n"
        "with atomic_write(Path(sys.argv[1])) as handle:\n"
        "    handle.write(b'half of a file' * 100000)\n"
        "    handle.flush()\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    target = tmp_path / "out" / "clean.parquet"
    target.parent.mkdir()
    process = subprocess.run([sys.executable, "-c", script, str(target)])
    assert process.returncode == -signal.SIGKILL
    assert list(target.parent.iterdir()) == []


def test_fix_killed_while_writing_leaves_no_partial_output(tmp_path):
    """A real `preflint fix`, killed the moment it opens its output in the destination directory."""
    data = tmp_path / "big.jsonl"
    with data.open("w", encoding="utf-8") as handle:  # unreadable lines: cheap to scan, large in the rejects
        for number in range(80000):  # a long write: the poll below must catch the output open
            handle.write(f"not json {number} " + "x" * 800 + "\n")
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    command = [
        sys.executable,
        "-m",
        "preflint",
        "fix",
        str(data),
        "--out",
        str(out_dir / "clean.jsonl"),
        "--rejects",
        str(out_dir / "dropped.jsonl"),
        "--no-progress",
    ]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    caught = False
    deadline = time.monotonic() + 120
    while process.poll() is None and time.monotonic() < deadline:
        try:
            targets = [os.readlink(f"/proc/{process.pid}/fd/{fd}") for fd in os.listdir(f"/proc/{process.pid}/fd")]
        except OSError:
            continue
        if any(target.startswith(f"{out_dir}/") for target in targets):  # an output is being written
            process.send_signal(signal.SIGKILL)
            caught = True
            break
    process.wait()
    assert caught, "the fix finished before its output could be caught open"
    for path in out_dir.iterdir():  # what is there is complete: the data file may be, the rejects are not yet
        assert path.name == "clean.jsonl" and path.read_text() == ""
