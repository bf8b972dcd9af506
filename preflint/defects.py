"""What makes a record unusable, as the pipeline finds it. Each kind is reported by the one rule that declares it
(`DefectRule.defect`), so the pipeline raises kinds, never rule codes."""

from __future__ import annotations

from enum import Enum


class Defect(Enum):
    UNREADABLE = "unreadable"  # the reader could not decode the record
    MISSING_FIELD = "missing-field"  # a column the pair needs is not in the record
    INVALID_TYPE = "invalid-type"  # a value is not text, messages or a number where one is needed
    TEMPLATE_ERROR = "template-error"  # the chat template could not render the conversation


class RowDefect(Exception):
    """A record that cannot become a pair: what kind of defect, and what is wrong, in the data author's words."""

    def __init__(self, kind: Defect, message: str):
        super().__init__(message)
        self.kind = kind
        self.message = message
