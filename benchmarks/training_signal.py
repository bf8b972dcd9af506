"""The ln 2 forecast against a real DPO run: the pairs `preflint scan --trainer trl` names are the pairs TRL's own
DPOTrainer leaves at ln 2, and the rows it says TRL drops are the rows TRL drops.

    python -m benchmarks.training_signal            # 300 pairs, max_length 128 (about 15 minutes on 2 cores)

Builds 300 pairs from the HH-RLHF rows in tests/data, in groups whose outcome the construction decides (real pairs,
identical pairs, pairs that differ only after the cut, a first difference or an EOS at the last kept token or
the first cut one, EOS written into a reply, empty replies, prompts at the length limit), scans them with the
command line (`preflint scan --trainer trl --max-length 128 --format json`), and trains TRL's DPOTrainer on CPU on
them and on `preflint fix`'s output, both from the same initial weights: a tiny randomly initialised Llama with
the Llama 3 vocabulary, saved with its tokenizer as a model directory. Then every pair's DPO loss under the
trained model, through TRL's collator and TRL's log-probability code (checked against TRL's own loss), and the
generated part of RESULTS.md is rewritten: pairs named against pairs measured at ln 2, rows TRL dropped against
rows named as dropped, the mean loss against the forecast's floor, and the loss curves before and after the fix
(training_signal.svg).
"""

from __future__ import annotations

import argparse
import json
import math
import random
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data" / "hh-rlhf-harmless-test.jsonl"
RESULTS = ROOT / "benchmarks" / "RESULTS.md"
PLOT = ROOT / "benchmarks" / "training_signal.svg"
BEGIN = "<!-- training-signal:begin (python -m benchmarks.training_signal rewrites this part) -->"
END = "<!-- training-signal:end -->"

LN2 = math.log(2)
MAX_LENGTH = 128
# A pinned pair's chosen and rejected sequences are the same tokens, so its loss is ln 2 up to float32 rounding
# (2e-9); any pair that trained moved by orders of magnitude more (RESULTS.md gives the smallest move measured).
AT_LN2 = 1e-6
SEED = 0
MARKER = "\n\nAssistant:"
ENDINGS = (" I hope this helps.", " That is all I can say.")  # their first tokens differ


def hh_pairs() -> list[dict]:
    """HH-RLHF's test rows as text pairs (the dialogue up to its last assistant turn is the prompt), where the two
    dialogues share that prompt."""
    pairs = []
    for line in DATA.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        cut = record["chosen"].rfind(MARKER) + len(MARKER)
        prompt = record["chosen"][:cut]
        if record["rejected"].rfind(MARKER) + len(MARKER) == cut and record["rejected"][:cut] == prompt:
            pairs.append({"prompt": prompt, "chosen": record["chosen"][cut:], "rejected": record["rejected"][cut:]})
    return pairs


def common_prefix(a: list[int], b: list[int]) -> int:
    return next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))


class Placing:
    """TRL's tokenization of a text pair, written out here only to place differences at chosen tokens (TRL adds
    BOS, appends EOS to each reply and tokenizes prompt + reply jointly); what TRL does with the pairs is measured,
    not taken from here."""

    def __init__(self, tokenizer):
        self.tokenizer = tokenizer

    def ids(self, text: str) -> list[int]:
        return self.tokenizer(text)["input_ids"]

    def sequence(self, prompt: str, reply: str) -> list[int]:
        eos = self.tokenizer.eos_token
        return self.ids(prompt + (reply if reply.endswith(eos) else reply + eos))

    def first_difference(self, row: dict) -> int:
        return common_prefix(self.sequence(row["prompt"], row["chosen"]), self.sequence(row["prompt"], row["rejected"]))

    def prompt_length(self, row: dict) -> int:
        prompt = self.ids(row["prompt"])
        return min(
            common_prefix(prompt, self.sequence(row["prompt"], reply)) for reply in (row["chosen"], row["rejected"])
        )

    def replies_differing_at(self, prompt: str, source: list[int], index: int, endings: tuple[str, str]) -> dict | None:
        """Replies that share a start cut from `source` and go on with `endings`, so that they first differ at
        token `index` of TRL's sequences (BOS is token 0); None if no cut lands there."""
        cut = index - len(self.ids(prompt))
        for _ in range(4):
            shared = self.tokenizer.decode(source[:cut])
            row = {"prompt": prompt, "chosen": shared + endings[0], "rejected": shared + endings[1]}
            found = self.first_difference(row)
            if found == index:
                return row
            cut += index - found
        return None

    def prompt_of(self, length: int, source: list[int], shared: int) -> dict | None:
        """A one-turn dialogue cut from `source` whose prompt is `length` tokens as TRL splits it, and whose replies
        share their first `shared` tokens; None if no cut gives that."""
        cut = length
        for _ in range(4):
            prompt = "\n\nHuman: " + self.tokenizer.decode(source[:cut]).strip() + MARKER
            row = dict(zip(("chosen", "rejected"), SHARING[shared]), prompt=prompt)
            found = self.prompt_length(row)
            if found == length:
                return row if self.first_difference(row) == length + shared else None
            cut += length - found
        return None


EMPTY_REPLIES = (("", ""), (" ", " "), ("", " "), ("", " Sure."))
SHARING = {  # replies whose first 0, 1 or 2 tokens are the same
    0: (" Yes.", " No."),
    1: (" Yes.", " Yes!"),
    2: (" Yes, I can.", " Yes, or no."),
}

# Each group: its name, which says what decides its pairs, and how a pair of it is made from a real pair with a
# short prompt, a long text of real replies (token ids) and the pair's number in the group (None: try the next).
GROUPS = {
    "identical": lambda placing, pair, source, n: {**pair, "rejected": pair["chosen"]},
    "differ only after the cut (token 140-179)": lambda placing, pair, source, n: placing.replies_differing_at(
        pair["prompt"], source, 140 + n % 40, ENDINGS
    ),
    **{
        f"first difference at token {index}": lambda placing, pair, source, n, index=index: (
            placing.replies_differing_at(pair["prompt"], source, index, ENDINGS)
        )
        for index in (126, 127, 128, 129)
    },
    **{
        f"chosen's EOS at token {index}": lambda placing, pair, source, n, index=index: placing.replies_differing_at(
            pair["prompt"], source, index, ("", ENDINGS[1])
        )
        for index in (127, 128)
    },
    "EOS written at the end of chosen": lambda placing, pair, source, n: {
        **pair,
        "chosen": pair["chosen"] + placing.tokenizer.eos_token,
        "rejected": pair["chosen"],
    },
    "empty replies": lambda placing, pair, source, n: dict(
        zip(("chosen", "rejected"), EMPTY_REPLIES[n % len(EMPTY_REPLIES)]), prompt=pair["prompt"]
    ),
    **{
        f"prompt of {length} tokens"
        + (f", replies share {shared} token{'s' * (shared != 1)}" if length < 128 else ""): (
            lambda placing, pair, source, n, length=length, shared=shared: placing.prompt_of(length, source, shared)
        )
        for length, shared in ((126, 1), (126, 2), (127, 0), (127, 1), (128, 0), (129, 0))
    },
}
REAL = "real HH-RLHF pair"
# How many pairs of each group: the benchmark's (real pairs make up its 300) and the test's.
FULL = {group: 2 for group in GROUPS} | {
    "identical": 40,
    "differ only after the cut (token 140-179)": 40,
    **{f"first difference at token {index}": 5 for index in (126, 127, 128, 129)},
    **{f"chosen's EOS at token {index}": 4 for index in (127, 128)},
    "EOS written at the end of chosen": 3,
    "empty replies": 4,
}
SMALL = {group: 1 for group in GROUPS} | {"empty replies": 4}  # and 4 real pairs: 24


def build_pairs(tokenizer, counts: dict[str, int], size: int) -> tuple[list[dict], list[str]]:
    """`size` pairs: `counts` of each group and real HH-RLHF pairs (prompts under 100 tokens) for the rest,
    shuffled; and each pair's group."""
    placing, pairs = Placing(tokenizer), hh_pairs()
    short = (pair for pair in pairs[: len(pairs) // 2] if len(placing.ids(pair["prompt"])) < 60)
    replies = [pair["chosen"].strip() for pair in pairs if pair["chosen"].strip()]
    built: list[tuple[dict, str]] = []
    for group, make in GROUPS.items():
        made = 0
        while made < counts[group]:
            start = len(built) * 7 % len(replies)
            source = tokenizer(" " + " ".join(replies[start : start + 40]), add_special_tokens=False)["input_ids"]
            row = make(placing, next(short), source, made)
            if row is not None:
                built.append((row, group))
                made += 1
    real = (pair for pair in pairs[len(pairs) // 2 :] if len(placing.ids(pair["prompt"])) < 100)
    built += [(next(real), REAL) for _ in range(size - len(built))]
    random.Random(SEED).shuffle(built)
    return [row for row, _ in built], [group for _, group in built]


def tiny_llama(tokenizer, directory: Path) -> Path:
    """A randomly initialised Llama with the Llama 3 vocabulary (fixed seed), saved with its tokenizer as a model
    directory: every run starts from these weights, and the scan reads this tokenizer."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(SEED)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=1,
        max_position_embeddings=MAX_LENGTH,
        tie_word_embeddings=True,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
    )
    LlamaForCausalLM(config).save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory


@dataclass
class Run:
    """One DPO training run: the input rows TRL kept, the loss it logged at each step, and each kept pair's DPO
    loss and policy log-probabilities (chosen, rejected) at the end."""

    kept: list[int]
    step_losses: list[float]
    losses: dict[int, float]
    logps: dict[int, tuple[float, float]]
    seconds: float


def train(
    rows: list[dict], model: Path, work: Path, epochs: float = 1, batch_size: int = 4, max_steps: int = -1
) -> Run:
    """TRL's DPOTrainer on CPU, as a user runs it (text pairs, max_length 128, keep_start), from `model`."""
    from datasets import Dataset
    from transformers import AutoTokenizer, PrinterCallback
    from trl import DPOConfig, DPOTrainer

    started = time.perf_counter()
    args = DPOConfig(
        output_dir=str(work),
        max_length=MAX_LENGTH,
        truncation_mode="keep_start",
        per_device_train_batch_size=batch_size,
        num_train_epochs=epochs,
        max_steps=max_steps,
        learning_rate=1e-3,
        logging_steps=1,
        precompute_ref_log_probs=True,  # the reference's log-probabilities once, kept for the losses at the end
        save_strategy="no",
        report_to=[],
        use_cpu=True,
        bf16=False,
        seed=SEED,
        disable_tqdm=True,
    )
    dataset = Dataset.from_list([{**row, "pair": index} for index, row in enumerate(rows)])
    trainer = DPOTrainer(
        model=str(model), args=args, train_dataset=dataset, processing_class=AutoTokenizer.from_pretrained(model)
    )
    trainer.remove_callback(PrinterCallback)  # each step's metrics: the losses are kept below
    trainer.train()
    losses, logps = final_losses(trainer)
    return Run(
        kept=list(trainer.train_dataset["pair"]),
        step_losses=[entry["loss"] for entry in trainer.state.log_history if "loss" in entry],
        losses=losses,
        logps=logps,
        seconds=time.perf_counter() - started,
    )


def final_losses(trainer, batch_size: int = 8) -> tuple[dict[int, float], dict[int, tuple[float, float]]]:
    """Each kept pair's DPO loss under the trained policy: TRL's collator, TRL's log-probability sums over the
    completion tokens (for the trained model, and the reference's it precomputed), and TRL's sigmoid loss with its
    beta, pair by pair. The first batch's mean must equal the loss TRL itself computes on that batch (checking
    every batch would double the time: the code is the same)."""
    import torch
    import torch.nn.functional as F

    model, examples = trainer.model.eval(), trainer.train_dataset
    columns = ("prompt_ids", "chosen_ids", "rejected_ids", "ref_chosen_logps", "ref_rejected_logps")
    losses, logps = {}, {}
    for start in range(0, len(examples), batch_size):
        batch = examples[start : start + batch_size]
        inputs = trainer.data_collator([dict(zip(columns, values)) for values in zip(*(batch[c] for c in columns))])
        with torch.no_grad():
            chosen, rejected = trainer.compute_ref_log_probs(model, inputs)  # TRL's log-probabilities, of this model
            margin = (chosen - inputs["ref_chosen_logps"]) - (rejected - inputs["ref_rejected_logps"])
            loss = -F.logsigmoid(trainer.beta * margin)
            if start == 0 and abs(loss.mean() - trainer._compute_loss(model, inputs, return_outputs=False)) > 1e-6:
                raise AssertionError(f"per-pair losses average {loss.mean()}, TRL's loss differs")
        for pair, value, chosen_logps, rejected_logps in zip(batch["pair"], loss, chosen, rejected):
            losses[pair] = value.item()
            logps[pair] = (chosen_logps.item(), rejected_logps.item())
    return losses, logps


@dataclass
class Forecast:
    """What `preflint scan --format json` says of each pair: the pairs the forecast names (findings marked
    `no_signal`), those of them it says TRL drops, and the summary's forecast."""

    named: set[int]
    dropped: set[int]
    summary: dict

    @classmethod
    def of(cls, report: dict) -> Forecast:
        summary = report["summary"]["forecast"]
        named = {finding["row"] for finding in report["findings"] if finding.get("no_signal")}
        dropped = {
            finding["row"]
            for finding in report["findings"]
            if finding["code"] == "M002" and finding["message"].startswith("the trainer drops this row")
        }
        if len(named) != summary["no_signal"] or len(dropped) != summary["dropped"]:
            raise AssertionError(
                f"the findings name {len(named)} pairs, {len(dropped)} dropped; the summary: {summary}"
            )
        return cls(named, dropped, summary)

    @property
    def pinned(self) -> set[int]:
        """The pairs it says stay at ln 2 (named, not dropped; a row TRL raises on would stop the run)."""
        return self.named - self.dropped


def preflint(*argv: str) -> None:
    """The command line, as a user runs it (exit 1 means findings)."""
    process = subprocess.run([sys.executable, "-m", "preflint", *argv], cwd=ROOT, capture_output=True, text=True)
    if process.returncode not in (0, 1):
        raise SystemExit(f"preflint {' '.join(argv[:2])} ... failed ({process.returncode}):\n{process.stderr[-2000:]}")


def scan(data: Path, model: Path, out: Path) -> Forecast:
    options = ["--tokenizer", str(model), "--trainer", "trl", "--max-length", str(MAX_LENGTH)]
    preflint("scan", str(data), *options, "--no-cache", "--no-progress", "--format", "json", "-o", str(out))
    return Forecast.of(json.loads(out.read_text(encoding="utf-8")))


def fix(data: Path, model: Path, out: Path, report: Path) -> dict:
    """`preflint fix` with its safe fixes; the accounting of its report."""
    options = ["--tokenizer", str(model), "--trainer", "trl", "--max-length", str(MAX_LENGTH)]
    preflint("fix", str(data), *options, "--no-progress", "--exit-zero", "--out", str(out), "--report", str(report))
    return json.loads(report.read_text(encoding="utf-8"))["accounting"]


def compare(forecast: Forecast, run: Run, size: int) -> dict:
    """The forecast against the run: among the rows TRL kept, pairs named vs pairs measured at ln 2; over all rows,
    rows said dropped vs rows TRL dropped."""
    kept = set(run.kept)
    at_ln2 = {pair for pair, loss in run.losses.items() if abs(loss - LN2) <= AT_LN2}
    pinned = forecast.pinned & kept
    trl_dropped = set(range(size)) - kept
    moved = [abs(run.losses[pair] - LN2) for pair in kept - pinned]
    held = [abs(run.losses[pair] - LN2) for pair in pinned]
    return {
        "named at ln 2": len(pinned & at_ln2),
        "named, moved": len(pinned - at_ln2),
        "not named, at ln 2": len(at_ln2 - pinned),
        "not named, moved": len(kept - pinned - at_ln2),
        "said dropped, dropped": len(forecast.dropped & trl_dropped),
        "said dropped, kept": len(forecast.dropped - trl_dropped),
        "not said, dropped": len(trl_dropped - forecast.dropped),
        "not said, kept": len(kept - forecast.dropped),
        "mismatches": len(pinned ^ at_ln2) + len(forecast.dropped ^ trl_dropped) + len(forecast.pinned - kept),
        "largest distance of a named pair from ln 2": max(held, default=0.0),
        "smallest distance of another pair from ln 2": min(moved, default=math.inf),
        "mean loss": sum(run.losses.values()) / len(run.losses),
        "floor": forecast.summary["loss_floor"],
        "steps": len(run.step_losses),
        "steps below the floor": sum(1 for loss in run.step_losses if loss < forecast.summary["loss_floor"]),
    }


@dataclass
class Measured:
    """Everything the benchmark reports."""

    size: int
    groups: list[str]
    before: Forecast
    after: Forecast
    accounting: dict
    run_before: Run
    run_after: Run
    seconds: float

    def by_group(self) -> list[tuple[str, int, int, int, int, int]]:
        """Per group: pairs, named (stays at ln 2), said dropped, measured at ln 2, dropped by TRL."""
        kept = set(self.run_before.kept)
        at_ln2 = {pair for pair, loss in self.run_before.losses.items() if abs(loss - LN2) <= AT_LN2}
        table = []
        for group in [*GROUPS, REAL]:
            pairs = {pair for pair, name in enumerate(self.groups) if name == group}
            if pairs:
                table.append(
                    (
                        group,
                        len(pairs),
                        len(pairs & self.before.pinned),
                        len(pairs & self.before.dropped),
                        len(pairs & at_ln2),
                        len(pairs - kept),
                    )
                )
        return table


def measure(counts: dict[str, int], size: int, work: Path, epochs: float = 1, max_steps: int = -1) -> Measured:
    from preflint.tokenizer.loading import load_tokenizer

    started = time.perf_counter()
    tokenizer = load_tokenizer("llama").hf
    rows, groups = build_pairs(tokenizer, counts, size)
    data = work / "pairs.jsonl"
    data.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")
    model = tiny_llama(tokenizer, work / "model")
    before = scan(data, model, work / "scan.json")
    accounting = fix(data, model, work / "fixed.jsonl", work / "fix.json")
    after = scan(work / "fixed.jsonl", model, work / "scan-fixed.json")
    fixed = [json.loads(line) for line in (work / "fixed.jsonl").read_text(encoding="utf-8").splitlines()]
    print(f"{size} pairs built, scanned and fixed ({len(fixed)} kept); training on them", flush=True)
    run_before = train(rows, model, work / "before", epochs, max_steps=max_steps)
    print(f"trained on the pairs as built in {run_before.seconds:.0f} s; training on the fixed pairs", flush=True)
    run_after = train(fixed, model, work / "after", epochs, max_steps=max_steps)
    print(f"trained on the fixed pairs in {run_after.seconds:.0f} s", flush=True)
    return Measured(size, groups, before, after, accounting, run_before, run_after, time.perf_counter() - started)


def plot(measured: Measured, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update({"svg.fonttype": "none", "svg.hashsalt": "preflint"})  # text as text; stable ids
    figure, axes = plt.subplots(figsize=(8, 4.2))
    floor = measured.before.summary["loss_floor"]
    for run, label, colour in (
        (measured.run_before, f"the pairs as built ({len(measured.run_before.kept)} trained)", "#c44e52"),
        (measured.run_after, f"after preflint fix ({len(measured.run_after.kept)} trained)", "#4c72b0"),
    ):
        steps = range(1, len(run.step_losses) + 1)
        axes.plot(steps, run.step_losses, color=colour, linewidth=1, alpha=0.8, label=f"{label}: loss of each step")
        mean = sum(run.losses.values()) / len(run.losses)
        axes.plot(
            [len(run.step_losses)], [mean], "o", color=colour, label=f"mean over every pair at the end: {mean:.4f}"
        )
    axes.axhline(LN2, color="grey", linestyle=":", linewidth=1, label="ln 2 = 0.6931")
    axes.axhline(
        floor, color="#c44e52", linestyle="--", linewidth=1, label=f"forecast floor before the fix: {floor:.4f}"
    )
    axes.set_xlabel("training step (batch of 4 pairs)")
    axes.set_ylabel("DPO loss")
    axes.set_title(f"TRL {version('trl')} DPOTrainer, tiny random Llama (Llama 3 vocabulary), max_length {MAX_LENGTH}")
    axes.legend(fontsize=8, loc="lower left")
    figure.savefig(path, bbox_inches="tight", metadata={"Date": None})
    plt.close(figure)


def section(measured: Measured, command: str) -> str:
    """The generated part of RESULTS.md."""
    from benchmarks.__main__ import commit, machine

    before = compare(measured.before, measured.run_before, measured.size)
    after = compare(measured.after, measured.run_after, measured.accounting["rows_kept"])
    fixed_rows, pinned = measured.accounting["rows_kept"], len(measured.before.pinned)
    dropped_by = ", ".join(f"{code} {count}" for code, count in measured.accounting["dropped_by_reason"].items())
    groups = "\n".join(
        f"| {group} | {pairs} | {named} | {said_dropped} | {at_ln2} | {trl_dropped} |"
        for group, pairs, named, said_dropped, at_ln2, trl_dropped in measured.by_group()
    )
    return f"""{BEGIN}
## The ln 2 forecast against a real DPO run

Command: `{command}` ({time.strftime("%Y-%m-%d")}{commit(("preflint", "benchmarks/training_signal.py"))}), \
{measured.seconds / 60:.0f} minutes in all. Data: {measured.size} pairs built by `benchmarks/training_signal.py` from \
the HH-RLHF rows in tests/data, in the groups below. `preflint scan --trainer trl --max-length {MAX_LENGTH} --format \
json` names the pairs (each finding it counts is marked `no_signal`); `preflint fix` (safe fixes) repairs them. TRL's \
`DPOTrainer` trains on CPU on both, from the same initial weights: a Llama of 2 layers and hidden size 32 with the \
Llama 3 vocabulary (128,256 tokens), randomly initialised (seed {SEED}), saved with its tokenizer as the model \
directory both preflint and TRL read; 1 epoch, batches of 4 pairs, learning rate 1e-3, beta 0.1, max_length \
{MAX_LENGTH}, keep_start, reference log-probabilities precomputed. At the end, each pair's DPO loss comes from TRL's \
collator and TRL's log-probability sums under the trained model and TRL's sigmoid loss (the first batch's mean \
checked against the loss TRL's `_compute_loss` gives for it); a pair is at ln 2 when its loss is within {AT_LN2:g} of \
it.

{machine(("preflint", "torch", "transformers", "trl", "datasets"))}

**{before["mismatches"]} mismatches** between the forecast and the run.

| the forecast, on the {len(measured.run_before.kept)} rows TRL kept | at ln 2 at the end | moved from ln 2 |
|---|---:|---:|
| names the pair (it stays at ln 2) | {before["named at ln 2"]} | {before["named, moved"]} |
| does not name it | {before["not named, at ln 2"]} | {before["not named, moved"]} |

| the forecast, on all {measured.size} rows | TRL dropped the row | TRL kept it |
|---|---:|---:|
| says TRL drops it | {before["said dropped, dropped"]} | {before["said dropped, kept"]} |
| does not | {before["not said, dropped"]} | {before["not said, kept"]} |

- The pairs named end within {before["largest distance of a named pair from ln 2"]:.1e} of ln 2 (float32 \
rounding: their two sides are the same tokens, so their log-probabilities are equal); of the others, the one \
nearest to ln 2 ends {before["smallest distance of another pair from ln 2"]:.1e} away.
- Mean DPO loss at the end over the {len(measured.run_before.kept)} pairs trained: **{before["mean loss"]:.4f}**, \
against the forecast's floor of **{before["floor"]:.4f}** ({pinned} pinned of {len(measured.run_before.kept)}). \
{before["steps below the floor"]} of the {before["steps"]} logged step losses (each the mean over one batch of 4 \
pairs) were below the floor: the floor bounds the loss averaged over the dataset, not one step's.
- After `preflint fix` ({fixed_rows} of {measured.size} rows kept; dropped: {dropped_by}): the forecast names \
{measured.after.summary["no_signal"]} pairs; TRL dropped {after["not said, dropped"] + after["said dropped, dropped"]} \
rows; {after["named at ln 2"] + after["not named, at ln 2"]} of the {len(measured.run_after.kept)} pairs trained \
ended at ln 2 (the nearest {after["smallest distance of another pair from ln 2"]:.1e} away); mean DPO loss at the \
end **{after["mean loss"]:.4f}** ({after["mismatches"]} mismatches).
- Training took {measured.run_before.seconds:.0f} s on the pairs as built ({before["steps"]} steps) and \
{measured.run_after.seconds:.0f} s on the fixed ones ({after["steps"]} steps), the losses at the end included.

| group | pairs | named: stays at ln 2 | named: TRL drops it | at ln 2 at the end | dropped by TRL |
|---|---:|---:|---:|---:|---:|
{groups}

![DPO loss per step, before and after preflint fix](training_signal.svg)
{END}"""


def rewrite(text: str) -> None:
    results = RESULTS.read_text(encoding="utf-8")
    pattern = re.compile(re.escape(BEGIN) + ".*?" + re.escape(END), re.DOTALL)
    results = (
        pattern.sub(lambda _: text, results) if pattern.search(results) else results.rstrip("\n") + "\n\n" + text + "\n"
    )
    RESULTS.write_text(results, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.training_signal", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--work", type=Path, help="where the data, the model and the outputs go (default: a temporary directory)"
    )
    options = parser.parse_args()
    quiet()
    with tempfile.TemporaryDirectory() as scratch:
        work = options.work or Path(scratch)
        work.mkdir(parents=True, exist_ok=True)
        measured = measure(FULL, 300, work)
    plot(measured, PLOT)
    rewrite(section(measured, "python -m benchmarks.training_signal"))
    print(f"wrote {RESULTS.relative_to(ROOT)} and {PLOT.relative_to(ROOT)}")


def quiet() -> None:
    """Progress bars and TRL's notices off: the benchmark prints where it is."""
    import os
    import warnings

    import datasets
    import transformers

    os.environ["TQDM_DISABLE"] = "1"  # TRL's reference log-probabilities
    datasets.disable_progress_bars()
    transformers.logging.disable_progress_bar()
    transformers.logging.set_verbosity_error()
    warnings.filterwarnings("ignore")


if __name__ == "__main__":
    main()
