"""The ln 2 forecast: how many pairs give the DPO loss no signal at all, and what that does to the loss curve.

At step 0 policy and reference agree, so every pair's DPO loss is ln 2. A pair whose two sides the model
receives as identical (P001, M003, and P004's pairs of two equal empty replies: findings marked `no_signal`) or with
a side without completion tokens (M002; not an unpaired row's, marked otherwise) keeps that loss for good:
its gradient is zero. If every other pair were learned perfectly, the mean loss would still sit at
share x ln 2. That floor bounds the loss averaged over the dataset, not one step's: a batch that holds few such
pairs can log a lower loss. Rows the trainer drops (also M002) are not trained at all, and a row its preprocessing
raises on (M002 too) stops the run before its first step.
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


def describe(result: dict) -> str:
    settings = ", ".join(f"{key} {value}" for key, value in result["options"].items())
    head = f"ln 2 forecast ({result['trainer']}{', ' + settings if settings else ''}): "
    if not result["no_signal"]:
        if not result["pairs"]:
            return head + "no usable pair to forecast."
        every = "the one pair" if result["pairs"] == 1 else f"every one of {result['pairs']:,} pairs"
        return head + f"{every} carries a signal (no P001, M002 or M003)."
    codes = ", ".join(f"{code} {count:,}" for code, count in result["by_code"].items())
    parts = []
    if failing := result["failing"]:
        parts.append(
            f"{failing:,} {'stops' if failing == 1 else 'stop'} the trainer's preprocessing with an error "
            "(training does not start until fixed or removed)"
        )
    if pinned := result["pinned_at_ln2"]:
        parts.append(
            f"{pinned:,} {'stays' if pinned == 1 else 'stay'} at ln 2 = 0.6931 for good, so the DPO loss averaged over "
            f"the dataset cannot fall below {result['loss_floor']:.4f} (a single step's batch loss can)"
        )
    if dropped := result["dropped"]:
        parts.append(f"{dropped:,} {'is' if dropped == 1 else 'are'} dropped by the trainer")
    if result["pairs"] == 1:
        return head + f"the one pair gives DPO no signal ({codes}): " + "; ".join(parts) + "."
    return head + (
        f"{result['no_signal']:,} of {result['pairs']:,} pairs ({result['share']:.1%}) give DPO no signal ({codes}): "
        + "; ".join(parts)
        + "."
    )
