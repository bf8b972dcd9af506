"""The ln 2 forecast: how many pairs give the DPO loss no signal at all, and what that does to the loss curve.

At step 0 policy and reference agree, so every pair's DPO loss is ln 2. A pair whose two sides the model
receives as identical (P001, M003, and P004's pairs of two equal empty replies: findings marked `no_signal`) or with
no completion token on either side (M002; a pair with one such side trains the other) keeps that loss for good:
its gradient is zero. If every other pair were learned perfectly, the mean loss would still sit at
share x ln 2. That floor bounds the loss averaged over the dataset, not one step's: a batch that holds few such
pairs can log a lower loss. Rows the trainer drops (also M002) are not trained at all, and a row its preprocessing
raises on (M002 too) stops the run before its first step.

A trainer of single examples (KTO: `--trainer kto`, a pair being two examples, chosen desirable and rejected
undesirable) has no ln 2: an example's loss, 1 - sigmoid(beta x (log-ratio - KL)) or its mirror, moves with the
batch's KL estimate, and two equal sides are two examples pulled opposite ways, not a pair without gradient. Its
forecast counts the examples the trainer drops and those its preprocessing raises on, and gives no floor. TRL
appends EOS to a text completion and keeps a token of it after a prompt shorter than max_length, so the one example
it could train without a completion token (a gradient of zero) is a completion of no messages, which it raises on
under about half of Python's hash seeds: preflint counts it as failing.
"""

from __future__ import annotations

import math
from collections import Counter

LN2 = math.log(2)
NO_SIGNAL = ("P001", "M002", "M003")


def gives_no_signal(finding) -> bool:
    """Whether the forecast counts the finding's pair (JSON marks such findings `"no_signal": true`)."""
    said = finding.no_signal if finding.no_signal is not None else finding.code in NO_SIGNAL
    return said and finding.row is not None


def forecast(findings, usable_rows: int, dropped_rows: int, failing_rows: int, trainer: str, options: dict) -> dict:
    codes_by_row: dict[int, str] = {}
    for finding in findings:
        if gives_no_signal(finding):
            codes_by_row.setdefault(finding.row, finding.code)
    no_signal = len(codes_by_row)
    pinned = no_signal - dropped_rows - failing_rows
    trained = max(usable_rows - dropped_rows - failing_rows, 0)
    return {
        "trainer": trainer,
        "options": options,
        "pairs": usable_rows,
        "no_signal": no_signal,
        "share": round(no_signal / usable_rows, 4) if usable_rows else 0.0,
        "pinned_at_ln2": pinned,
        "dropped": dropped_rows,
        "failing": failing_rows,
        "by_code": dict(sorted(Counter(codes_by_row.values()).items())),
        "loss_floor": round(LN2 * pinned / trained, 4) if trained else 0.0,
    }


def example_outcomes(batch) -> Counter:
    """What a trainer of single examples does with each example of a simulated batch: a pair's two sides are two
    examples (the row's fate theirs), an unpaired row's completion one."""
    counts = Counter()
    for i, row in enumerate(batch.trainer):
        if row is not None and row.dropped:
            counts["failing" if row.failure else "dropped"] += 2 if batch.pairs[i] is not None else 1
    return counts


def unpaired_forecast(examples: int, outcomes: Counter, trainer: str, options: dict) -> dict:
    no_signal = outcomes["dropped"] + outcomes["failing"]
    return {
        "trainer": trainer,
        "options": options,
        "examples": examples,
        "no_signal": no_signal,
        "share": round(no_signal / examples, 4) if examples else 0.0,
        "dropped": outcomes["dropped"],
        "failing": outcomes["failing"],
    }


def describe(result: dict) -> str:
    if "examples" in result:
        return describe_unpaired(result)
    head = _head("ln 2 forecast", result)
    if not result["no_signal"]:
        if not result["pairs"]:
            return head + "no usable pair to forecast."
        every = "the one pair" if result["pairs"] == 1 else f"every one of {result['pairs']:,} pairs"
        return head + f"{every} carries a signal."
    codes = ", ".join(f"{code} {count:,}" for code, count in result["by_code"].items())
    parts = []
    if result["failing"]:
        parts.append(_stopping(result["failing"]))
    if pinned := result["pinned_at_ln2"]:
        parts.append(
            f"{pinned:,} {'stays' if pinned == 1 else 'stay'} at ln 2 = 0.6931 for good, so the DPO loss averaged over "
            f"the dataset cannot fall below {result['loss_floor']:.4f} (a single step's batch loss can)"
        )
    if result["dropped"]:
        parts.append(_dropped(result["dropped"]))
    if result["pairs"] == 1:
        return head + f"the one pair gives DPO no signal ({codes}): " + "; ".join(parts) + "."
    return head + (
        f"{result['no_signal']:,} of {result['pairs']:,} pairs ({result['share']:.1%}) give DPO no signal ({codes}): "
        + "; ".join(parts)
        + "."
    )


def describe_unpaired(result: dict) -> str:
    head = _head("KTO forecast", result)
    examples = result["examples"]
    if not examples:
        return head + "no usable example to forecast."
    no_floor = "no loss floor: no example is pinned at a loss (KTO's moves with the batch's KL estimate)"
    if not result["no_signal"]:
        every = "the one example" if examples == 1 else f"every one of {examples:,} examples"
        return head + f"{every} is trained; {no_floor}."
    parts = []
    if result["failing"]:
        parts.append(_stopping(result["failing"]))
    if result["dropped"]:
        parts.append(_dropped(result["dropped"]))
    return head + (
        f"{result['no_signal']:,} of {examples:,} examples ({result['share']:.1%}) give KTO no signal: "
        + "; ".join(parts)
        + f". {no_floor[0].upper()}{no_floor[1:]}."
    )


def _stopping(failing: int) -> str:
    return (
        f"{failing:,} {'stops' if failing == 1 else 'stop'} the trainer's preprocessing with an error "
        "(training does not start until fixed or removed)"
    )


def _dropped(dropped: int) -> str:
    return f"{dropped:,} {'is' if dropped == 1 else 'are'} dropped by the trainer"


def _head(name: str, result: dict) -> str:
    settings = ", ".join(f"{key} {value}" for key, value in result["options"].items())
    return f"{name} ({result['trainer']}{', ' + settings if settings else ''}): "
