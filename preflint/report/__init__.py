"""Output formats. Each writes a ScanResult to a text stream; the CLI picks one by name."""

from preflint.report.ci import write_github, write_gitlab, write_junit, write_sarif
from preflint.report.json import write_json, write_jsonl
from preflint.report.markdown import write_markdown
from preflint.report.text import write_text

FORMATS = {
    "text": write_text,
    "json": write_json,
    "jsonl": write_jsonl,
    "github": write_github,
    "sarif": write_sarif,
    "gitlab": write_gitlab,
    "junit": write_junit,
    "markdown": write_markdown,
}
