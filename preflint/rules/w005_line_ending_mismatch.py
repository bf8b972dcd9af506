from preflint.findings import Applicability, Edit, Fix, Severity
from preflint.rule import RowRule


def crlf_to_lf(text: str) -> str:
    return text.replace("\r\n", "\n")


class LineEndingMismatch(RowRule):
    """One side uses Windows line endings (CRLF), the other Unix ones (LF).

    ## What it does
    Classifies the line endings of each response that has any (CRLF, LF or mixed) and reports pairs whose two
    sides differ.

    ## Why is this bad?
    "\\r\\n" and "\\n" tokenize differently, so every line break is a difference between the sides that no
    annotator judged, usually a trace of two different generation or export pipelines, one per label.

    ## Example
    ```jsonl
    {"prompt": "List two colours.", "chosen": "- red\\r\\n- blue", "rejected": "- red\\n- green"}
    ```

    ## Fix safety
    Safe: CRLF becomes LF on both sides.
    """

    code = "W005"
    name = "line-ending-mismatch"
    family = "whitespace"
    severity = Severity.WARNING
    fix = Fix(Applicability.SAFE, "convert CRLF line endings to LF on both sides", Edit(crlf_to_lf))

    def check(self, batch):
        for i in batch.comparable():
            chosen, rejected = _endings(batch.chosen[i]), _endings(batch.rejected[i])
            if chosen and rejected and chosen != rejected:
                yield self.finding(batch.rows[i], f"chosen uses {chosen} line endings, rejected {rejected}")


def _endings(text: str) -> str | None:
    crlf = "\r\n" in text
    lf = "\n" in text.replace("\r\n", "")
    if crlf and lf:
        return "mixed CRLF and LF"
    return "CRLF" if crlf else "LF" if lf else None
