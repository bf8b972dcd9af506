"""Machine-readable output; the JSON shape is a contract other tools parse (see README)."""

from __future__ import annotations

import json
from typing import TextIO


def write_json(result, stream: TextIO, **_options) -> None:
    json.dump(result.to_dict(), stream, ensure_ascii=False, indent=2)
    stream.write("\n")


def write_jsonl(result, stream: TextIO, **_options) -> None:
    """One finding per line, for `grep`, `jq -c` and streaming consumers."""
    for finding in result.findings:
        stream.write(json.dumps(finding.to_dict(), ensure_ascii=False) + "\n")
