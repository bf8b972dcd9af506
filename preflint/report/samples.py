"""The fix report's samples: a few rows per rule, as the model sees them (rendered and tokenized by the pipeline's own
steps), with the token-level difference between their two sides."""

from __future__ import annotations

import difflib
from collections import Counter

from preflint.findings import Finding
from preflint.pipeline.batch import PairBatch
from preflint.pipeline.steps import BY_NAME, Pipeline, Work
from preflint.shapes.pairs import Pair
from preflint.text import ending
from preflint.tokenizer.wrapper import Tokenizer
from preflint.trainers import common_prefix_length

SAMPLES_PER_CODE = 3
MAX_SAMPLES = 40
DIFF_CELLS = 4_000_000  # difflib on 2,000 tokens a side: at most ~0.15 s
SHOWN_STEPS = (BY_NAME["render"], BY_NAME["tokenize"])


def pick_samples(findings: list[Finding]) -> dict[int, list[Finding]]:
    """A few rows per rule for the report: the first rows of each code, all findings of those rows."""
    by_row: dict[int, list[Finding]] = {}
    for finding in findings:
        if finding.row is not None:
            by_row.setdefault(finding.row, []).append(finding)
    per_code: Counter = Counter()
    picked: dict[int, list[Finding]] = {}
    for row, found in sorted(by_row.items()):
        codes = {f.code for f in found}
        if any(per_code[code] < SAMPLES_PER_CODE for code in codes) and len(picked) < MAX_SAMPLES:
            picked[row] = found
            per_code.update(codes)
    return picked


def samples(picked: dict[int, list[Finding]], pairs: dict[int, Pair], pipeline: Pipeline) -> list[dict]:
    """The two sides of the picked rows, rendered and tokenized, with the token-level difference."""
    rows = [row for row in picked if row in pairs]
    if not rows:
        return []
    batch = PairBatch("samples", rows, [pairs[row] for row in rows], [None] * len(rows), [None] * len(rows))
    pipeline.run(Work(None, None, batch), SHOWN_STEPS)
    shown = []
    for i, row in enumerate(rows):
        if batch.pairs[i] is None:
            continue
        chosen, rejected = batch.body_ids(i, "chosen"), batch.body_ids(i, "rejected")
        chosen_parts, rejected_parts = token_diff(chosen, rejected, pipeline.tokenizer)
        shown.append(
            {
                "row": row,
                "findings": [
                    {
                        "code": f.code,
                        "name": f.name,
                        "severity": f.severity.value,
                        "message": f.message,
                        "fix": f.fix.to_dict() if f.fix else None,
                    }
                    for f in picked[row]
                ],
                "prompt": ending(batch.prompt[i], 400),
                "chosen": chosen_parts,
                "rejected": rejected_parts,
                "tokens": {"chosen": len(chosen), "rejected": len(rejected)},
            }
        )
    return shown


def token_diff(chosen: list[int], rejected: list[int], tokenizer: Tokenizer) -> tuple[list, list]:
    """Both sides as [kind, text] runs: "same", or "changed" where the token sequences differ.

    The common start and end are cut off first; difflib matches what is left, unless that is more than DIFF_CELLS
    tokens by tokens (its matching is quadratic: two responses of 450,000 tokens took hours), then it is one
    changed run."""
    head = common_prefix_length(chosen, rejected)
    tail = common_prefix_length(chosen[head:][::-1], rejected[head:][::-1])
    chosen_end, rejected_end = len(chosen) - tail, len(rejected) - tail
    if (chosen_end - head) * (rejected_end - head) <= DIFF_CELLS:
        matcher = difflib.SequenceMatcher(None, chosen[head:chosen_end], rejected[head:rejected_end], autojunk=False)
        middle = [(op, head + i1, head + i2, head + j1, head + j2) for op, i1, i2, j1, j2 in matcher.get_opcodes()]
    else:
        middle = [("replace", head, chosen_end, head, rejected_end)]
    chosen_parts, rejected_parts = [], []
    for op, i1, i2, j1, j2 in [
        ("equal", 0, head, 0, head),
        *middle,
        ("equal", chosen_end, len(chosen), rejected_end, len(rejected)),
    ]:
        kind = "same" if op == "equal" else "changed"
        if i2 > i1:
            chosen_parts.append([kind, _shorten(tokenizer.decode(chosen[i1:i2]), kind)])
        if j2 > j1:
            rejected_parts.append([kind, _shorten(tokenizer.decode(rejected[j1:j2]), kind)])
    return chosen_parts, rejected_parts


def _shorten(text: str, kind: str) -> str:
    """A run's text with its middle left out: unchanged context briefly, a change only when it is very long."""
    keep = 160 if kind == "same" else 2000
    if len(text) <= 2 * keep:
        return text
    return text[:keep] + " … " + text[-keep:]
