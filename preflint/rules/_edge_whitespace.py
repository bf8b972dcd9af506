"""What W001 and W002 share: compare the whitespace at one edge of the two responses."""

from collections.abc import Callable
from typing import ClassVar

from preflint.findings import Fix
from preflint.rule import RowRule
from preflint.text import describe_whitespace


class EdgeWhitespaceMismatch(RowRule):
    edge_of: ClassVar[Callable[[str], str]]
    verb: ClassVar[str]  # "starts" or "ends"

    def check(self, batch):
        for i in batch.comparable():
            chosen, rejected = (type(self).edge_of(batch.body_text(i, side)) for side in ("chosen", "rejected"))
            if chosen != rejected:
                message = (
                    f"chosen {self.verb} with {describe_whitespace(chosen)}, "
                    f"rejected with {describe_whitespace(rejected)}"
                )
                yield self.finding(batch.rows[i], message, self.fix_for(batch.prompt[i]))

    def fix_for(self, prompt: str) -> Fix:
        return self.fix
