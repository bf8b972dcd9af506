"""Beyond ready-made pairs (issue 31): labelled pairs, rated or ranked candidates and unpaired (KTO) rows, each shape
built from its documented schema with real text (LLaMA-Factory's DPO demo), are scanned without --map, their
planted defects found, and `fix --binarize` writes pairs that TRL's own DPO preprocessing accepts, each with the
reply the label prefers as chosen."""

import json
from types import SimpleNamespace

import pandas as pd
import pyarrow.parquet as pq
import pytest
from datasets import Dataset
from trl import DPOConfig
from trl.trainer.dpo_trainer import DPOTrainer

from preflint.cli import main
from tests.conftest import data_file, read_jsonl

DEMO = json.loads(data_file("llamafactory-dpo-en-demo.json").read_text(encoding="utf-8"))
# (prompt, a good reply, a bad reply, a third reply): real text, the third another row's rejected reply
REAL = [
    (row["conversations"][-1]["value"], row["chosen"]["value"], row["rejected"]["value"], other["rejected"]["value"])
    for row, other in zip(DEMO[:12], DEMO[100:112])
    if len(row["conversations"]) == 1
][:8]
N = len(REAL)  # rows per shape: row 0 is a tie where the shape has ties, row 1 has identical replies


def user(text):
    return [{"role": "user", "content": text}]


def dialogue(prompt, reply):
    return [*user(prompt), {"role": "assistant", "content": reply}]


def twins(make, ties=True):
    """Rows of a labelled shape: `make(prompt, first, second, winner)` with winner 0 or 1, or None for a tie (row 0,
    where the shape has ties); good replies win, placed first and second in turn; row 1's replies are one text."""
    rows = []
    for k, (prompt, good, bad, _) in enumerate(REAL):
        if k == 1:
            bad = good
        first, second, winner = (good, bad, 0) if k % 2 else (bad, good, 1)
        rows.append(make(prompt, first, second, None if k == 0 and ties else winner))
    return rows


LABELLED = {
    "PKU-SafeRLHF": lambda: twins(
        lambda p, a, b, w: {
            "prompt": p,
            "response_0": a,
            "response_1": b,
            "better_response_id": w,
            "safer_response_id": 1,
            "response_0_source": "Alpaca-7B",
            "response_1_source": "Alpaca2-7B",
        },
        ties=False,
    ),
    "SHP": lambda: twins(
        lambda p, a, b, w: {
            "post_id": "x",
            "history": p,
            "human_ref_A": a,
            "human_ref_B": b,
            "labels": 1 - w,  # 1: A preferred
            "score_A": 3,
            "score_B": 1,
        },
        ties=False,
    ),
    "Chatbot Arena": lambda: twins(
        lambda p, a, b, w: {
            "question_id": "q",
            "model_a": "model-x",
            "model_b": "model-y",
            "winner": "tie" if w is None else ("model_a", "model_b")[w],
            "conversation_a": dialogue(p, a),
            "conversation_b": dialogue(p, b),
            "turn": 1,
        }
    ),
    "HelpSteer3": lambda: twins(
        lambda p, a, b, w: {
            "domain": "general",
            "context": user(p),
            "response1": a,
            "response2": b,
            "overall_preference": 0 if w is None else (-2, 3)[w],
        }
    ),
    "AlpacaEval": lambda: twins(
        lambda p, a, b, w: {
            "instruction": p,
            "output_1": a,
            "generator_1": "reference",
            "output_2": b,
            "generator_2": "model",
            "preference": 1.5 if w is None else (1.0, 2.0)[w],
        }
    ),
    "judge A>B": lambda: twins(
        lambda p, a, b, w: {
            "question": p,
            "response_A": a,
            "response_B": b,
            "label": "A=B" if w is None else ("A>B", "B>A")[w],
        }
    ),
    "Auto-J 0/1/2": lambda: twins(
        lambda p, a, b, w: {"prompt": p, "response 1": a, "response 2": b, "label": 2 if w is None else w}
    ),
    "LLMBar 1/2": lambda: twins(lambda p, a, b, w: {"input": p, "output_1": a, "output_2": b, "label": w + 1}, False),
}


def ranked(make):
    """Rows of a ranked shape: `make(prompt, [(reply, quality), ...])`, quality higher is better; row 0 all
    alike (a tie), row 1 with the good reply twice."""
    rows = []
    for k, (prompt, good, bad, third) in enumerate(REAL):
        candidates = [(third, 2), (good, 3), (bad, 1)]
        if k == 0:
            candidates = [(reply, 2) for reply, _ in candidates]
        if k == 1:
            candidates.append((good, 1))
        rows.append(make(prompt, candidates))
    return rows


RANKED = {
    "UltraFeedback": lambda: ranked(
        lambda p, cs: {
            "source": "evol",
            "instruction": p,
            "models": [f"m{k}" for k in range(len(cs))],
            "completions": [
                {"model": f"m{k}", "response": r, "overall_score": 3.0 * q, "fine-grained_score": q}
                for k, (r, q) in enumerate(cs)
            ],
        }
    ),
    "Nectar": lambda: ranked(
        lambda p, cs: {
            "prompt": f"\n\nHuman: {p}\n\nAssistant:",
            "answers": [{"answer": r, "model": f"m{k}", "rank": 10 - q} for k, (r, q) in enumerate(cs)],
            "turns": 1,
        }
    ),
    "generations + scores": lambda: ranked(
        lambda p, cs: {"prompt": p, "all_generated_responses": [r for r, _ in cs], "all_rm_scores": [q for _, q in cs]}
    ),
}


def kto(make):
    rows = [
        make(prompt, reply, label) for prompt, good, bad, _ in REAL for reply, label in ((good, True), (bad, False))
    ]
    return [*rows, make(REAL[0][0], REAL[0][1], False), make(REAL[1][0], "", True)]  # a contradiction, an empty one


UNPAIRED = {
    "TRL text": lambda: kto(lambda p, c, label: {"prompt": p, "completion": c, "label": label}),
    "TRL conversational": lambda: kto(
        lambda p, c, label: {"prompt": user(p), "completion": [{"role": "assistant", "content": c}], "label": label}
    ),
    "LLaMA-Factory": lambda: kto(lambda p, c, label: {"messages": dialogue(p, c), "label": label}),
}


def run(capsys, *argv):
    code = main([*map(str, argv), "--no-progress", *(["--no-cache"] if argv[0] == "scan" else [])])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def write(path, rows):
    path.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")
    return path


def scanned(capsys, path, *options):
    code, out, err = run(capsys, "scan", path, "--tokenizer", "llama", "--format", "json", *options)
    assert code in (0, 1), err
    return json.loads(out)


def findings(report, code):
    return [finding for finding in report["findings"] if finding["code"] == code]


def trl_accepts(path, tmp_path, tokenizer) -> int:
    """TRL's DPO preprocessing on the written pairs: how many rows it keeps (it raises on what it cannot read)."""
    dataset = Dataset(pq.read_table(path))
    args = DPOConfig(output_dir=str(tmp_path / "trl"), report_to=[], use_cpu=True, bf16=False)
    trainer = SimpleNamespace(_tokenizer=tokenizer, _is_vision_dataset=False)
    return len(DPOTrainer._prepare_dataset(trainer, dataset, tokenizer, args, "train"))


@pytest.mark.parametrize("shape", list(LABELLED))
def test_labelled_pairs_are_read_their_defects_found_and_binarized_for_trl(shape, capsys, tmp_path, llama):
    rows = LABELLED[shape]()
    data = write(tmp_path / "data.jsonl", rows)
    report = scanned(capsys, data)
    assert report["summary"]["shape"].startswith("labelled pairs")
    assert not [f for f in report["findings"] if f["code"].startswith("S")]
    tie = shape not in ("PKU-SafeRLHF", "SHP", "LLMBar 1/2")
    assert [f["row"] for f in findings(report, "C001")] == ([0] if tie else [])
    assert [f["row"] for f in findings(report, "P001")] == [1], "identical replies are P001's pair"

    out, rejects = tmp_path / "pairs.parquet", tmp_path / "rejects.jsonl"
    code, text, err = run(
        capsys, "fix", data, "--tokenizer", "llama", "--binarize", "best-vs-worst", "--out", out, "--rejects", rejects
    )
    assert code in (0, 1), err
    pairs = pq.read_table(out).to_pylist()
    kept = [k for k in range(N) if k != 1 and not (tie and k == 0)]
    assert [pair["source_row"] for pair in pairs] == kept, "ties and identical pairs dropped"
    for pair in pairs:
        good = REAL[pair["source_row"]][1]
        chosen = pair["chosen"] if isinstance(pair["chosen"], str) else pair["chosen"][-1]["content"]
        assert chosen == good, f"row {pair['source_row']}: the label's preferred reply is chosen"
    assert {reject["reason"] for reject in read_jsonl(rejects)} == ({"C001", "P001"} if tie else {"P001"})
    assert trl_accepts(out, tmp_path, llama.hf) == len(pairs)


@pytest.mark.parametrize("shape", list(RANKED))
def test_ranked_candidates_are_read_their_defects_found_and_binarized_for_trl(shape, capsys, tmp_path, llama):
    data = write(tmp_path / "data.jsonl", RANKED[shape]())
    report = scanned(capsys, data)
    assert report["summary"]["shape"] == "rated or ranked candidates"
    assert [f["row"] for f in findings(report, "C001")] == [0]
    assert [f["row"] for f in findings(report, "C002")] == [1], "the good reply twice, rated apart"
    assert report["summary"]["samples"]["candidates"] == 3 * N + 1

    for strategy, per_row in (("best-vs-worst", 1), ("best-vs-second", 1), ("all-pairs", 3)):
        out = tmp_path / f"{strategy}.parquet"
        code, text, err = run(capsys, "fix", data, "--tokenizer", "llama", "--binarize", strategy, "--out", out)
        assert code in (0, 1), err
        pairs = pq.read_table(out).to_pylist()
        assert all(pair["source_row"] != 0 for pair in pairs), "a tie never becomes a pair"
        best = [pair for pair in pairs if pair["source_row"] > 1]
        assert len(best) == per_row * (N - 2)
        assert all(pair["margin"] > 0 for pair in pairs)
        if strategy != "all-pairs":
            assert all(pair["chosen"] == REAL[pair["source_row"]][1] for pair in pairs), "the best is chosen"
        assert trl_accepts(out, tmp_path, llama.hf) == len(pairs)


def test_binarize_accounts_for_every_row_candidate_and_pair(capsys, tmp_path):
    data = write(tmp_path / "data.jsonl", RANKED["UltraFeedback"]())
    out, report = tmp_path / "pairs.jsonl", tmp_path / "report.json"
    for strategy in ("best-vs-worst", "best-vs-random", "best-vs-second", "all-pairs"):
        out.unlink(missing_ok=True)
        report.unlink(missing_ok=True)
        args = ("fix", data, "--tokenizer", "llama", "--binarize", strategy, "--out", out, "--report", report)
        assert run(capsys, *args)[0] in (0, 1)
        accounting = json.loads(report.read_text())["accounting"]
        made = accounting["binarize"]
        assert accounting["rows_read"] == made["rows_with_pairs"] + made["rows_without_pairs"] == N
        assert made["candidates_read"] == made["candidates_used"] + made["candidates_unused"] == 3 * N + 1
        assert made["candidates_unused"] == sum(made["candidates_unused_by_reason"].values())
        assert made["pairs_made"] == accounting["rows_kept"] + accounting["pairs_dropped"]
        assert accounting["rows_kept"] == len(read_jsonl(out))
        assert made["rows_without_pairs_by_reason"] == {"C001": 1}
        assert made["candidates_unused_by_reason"]["row dropped (C001)"] == 3


def test_best_vs_random_is_the_same_for_a_seed_whatever_the_batches(capsys, tmp_path):
    rows = [
        {"prompt": f"Q{k}", "responses": [f"answer {k}.{j}" for j in range(6)], "scores": [6, 5, 4, 3, 2, 1]}
        for k in range(40)
    ]
    data = write(tmp_path / "data.jsonl", rows)

    def rejected(seed, *options):
        out = tmp_path / f"out-{seed}-{len(options)}.jsonl"
        args = ("fix", data, "--tokenizer", "llama", "--binarize", "best-vs-random", "--seed", seed, "--out", out)
        assert run(capsys, *args, *options)[0] in (0, 1)
        return [pair["rejected"] for pair in read_jsonl(out)]

    first = rejected(1)
    assert first == rejected(1, "--batch-size", "7", "--jobs", "2")
    assert first != rejected(2), "another seed draws other rejected candidates"
    assert len(set(first)) == 40 and len({reply[-1] for reply in first}) > 2, "drawn among the worse candidates"


def test_ranks_are_written_as_ranks_and_scores_as_scores(capsys, tmp_path):
    nectar = write(tmp_path / "nectar.jsonl", RANKED["Nectar"]()[2:3])
    out = tmp_path / "out.jsonl"
    assert run(capsys, "fix", nectar, "--tokenizer", "llama", "--binarize", "best-vs-worst", "--out", out)[0] in (0, 1)
    (pair,) = read_jsonl(out)
    assert (pair["rank_chosen"], pair["rank_rejected"], pair["margin"]) == (7, 9, 2)
    assert (pair["chosen_model"], pair["rejected_model"]) == ("m1", "m2")


@pytest.mark.parametrize("shape", list(UNPAIRED))
def test_unpaired_kto_rows_are_scanned_and_checked_as_trl_trains_them(shape, capsys, tmp_path):
    data = write(tmp_path / "kto.jsonl", UNPAIRED[shape]())
    report = scanned(capsys, data)
    assert report["summary"]["shape"].startswith("unpaired (KTO")
    samples = report["summary"]["samples"]
    assert (samples["candidates"], samples["pairs"]) == (2 * N + 2, 0)
    assert (samples["desirable"], samples["undesirable"]) == (N + 1, N + 1)
    assert [f["row"] for f in findings(report, "D006")] == [0, 2 * N]
    assert [f["row"] for f in findings(report, "C003")] == [2 * N + 1]
    assert not findings(report, "L007"), "balanced"

    truncated = scanned(capsys, data, "--trainer", "kto", "--max-length", "2", "--select", "M002")
    assert len(findings(truncated, "M002")) == 2 * N + 2, "every prompt fills 2 tokens"
    forecast = truncated["summary"]["forecast"]
    assert (forecast["examples"], forecast["dropped"]) == (2 * N + 2, 2 * N + 2), "KTO's forecast, in examples"
    trl = scanned(capsys, data, "--trainer", "trl", "--select", "M002")
    assert all("check it with --trainer kto" in f["message"] for f in findings(trl, "M002"))


def test_binarize_refuses_pairs_and_unpaired_rows(capsys, tmp_path):
    kto = write(tmp_path / "kto.jsonl", UNPAIRED["TRL text"]())
    pairs = write(tmp_path / "pairs.jsonl", [{"prompt": "Q", "chosen": "a", "rejected": "b"}])
    for data, holds in ((kto, "unpaired (KTO) rows"), (pairs, "pairs already")):
        code, _, err = run(capsys, "fix", data, "--binarize", "all-pairs", "--out", tmp_path / f"{data.stem}.out.jsonl")
        assert code == 2 and holds in err and "fix it without --binarize" in err
        assert not (tmp_path / f"{data.stem}.out.jsonl").exists()
    code, _, err = run(capsys, "fix", pairs, "--binarize", "all-pairs", "--diff")
    assert code == 2 and "give --out instead of --diff" in err


def test_a_label_column_read_otherwise_is_named_with_map(capsys, tmp_path):
    """A label scheme preflint does not know (here 'left'/'right' as 'L'/'R') is S003 until --map names it."""
    rows = [{"prompt": p, "first_reply": g, "second_reply": b, "verdict": "L"} for p, g, b, _ in REAL]
    data = write(tmp_path / "data.jsonl", rows)
    code, _, err = run(capsys, "scan", data, "--map", "first=first_reply,second=second_reply,label=verdict")
    assert code == 1
    report = scanned(capsys, data, "--map", "first=first_reply,second=second_reply,label=verdict")
    assert len(findings(report, "S003")) == N and "label_first=V" in findings(report, "S003")[0]["message"]
    mapped = "first=first_reply,second=second_reply,label=verdict,label_first=L,label_second=R"
    report = scanned(capsys, data, "--map", mapped)
    assert not findings(report, "S003") and report["summary"]["samples"]["pairs"] == N


def test_real_judge_benchmarks_and_kto_demo_are_read_as_published(capsys):
    judgebench = scanned(capsys, data_file("judgebench-claude-sample.jsonl"))
    assert judgebench["summary"]["shape"].startswith("labelled pairs")
    assert judgebench["summary"]["samples"]["pairs"] == 100 and "ties" not in judgebench["summary"]["samples"]
    llmeval = scanned(capsys, data_file("llmbar-processed-llmeval2.json"))
    assert [f["row"] for f in findings(llmeval, "P001")] == [57], "LLMEval² row 57: two identical outputs"
    assert 169 in [f["row"] for f in findings(llmeval, "P004")], "row 169: output_2 is whitespace"
    demo = scanned(capsys, data_file("llamafactory-kto-en-demo.json"))
    assert (demo["summary"]["samples"]["desirable"], demo["summary"]["samples"]["undesirable"]) == (150, 150)
    assert not findings(demo, "D006"), "rows 64 and 195 share a prompt, not a completion"


def test_openassistant_trees_are_named_not_misread(capsys):
    code, _, err = run(capsys, "scan", data_file("oasst-en-message-trees-sample.jsonl"))
    assert code == 2 and "OpenAssistant message trees" in err and "one prompt's candidates per row" in err


def test_labels_written_as_text_read_as_their_columns_say(capsys, tmp_path):
    """CSV holds every label as text: PKU-SafeRLHF's "1" is still the second reply, as its integer is."""
    rows = LABELLED["PKU-SafeRLHF"]()
    csv = tmp_path / "pku.csv"
    pd.DataFrame(rows).to_csv(csv, index=False)
    as_text = scanned(capsys, csv)
    as_numbers = scanned(capsys, write(tmp_path / "pku.jsonl", rows))
    assert not findings(as_text, "S003") and as_text["summary"]["samples"]["pairs"] == N
    where = [[(f["code"], f["row"]) for f in report["findings"]] for report in (as_text, as_numbers)]
    assert where[0] == where[1]
    assert run(capsys, "fix", csv, "--binarize", "best-vs-worst", "--out", tmp_path / "pairs.jsonl")[0] in (0, 1)
    chosen = {row["chosen"] for row in read_jsonl(tmp_path / "pairs.jsonl")}
    assert chosen and chosen <= {good for _, good, _, _ in REAL}
