"""Output formats. Each writes a ScanResult to a text stream; the CLI picks one by name."""

from .json import write_json, write_jsonl
from .text import write_text

FORMATS = {"text": write_text, "json": write_json, "jsonl": write_jsonl}
