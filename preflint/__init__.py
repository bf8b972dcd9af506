"""preflint: lint and repair preference datasets with the target model's own tokenizer.

import preflint
report = preflint.scan("prefs.jsonl", tokenizer="llama")
report.findings          # a pandas DataFrame
fixed = preflint.fix(dataset).data   # a datasets.Dataset
"""

from preflint.version import __version__

__all__ = ["__version__", "fix", "scan"]


def scan(data=None, **options):
    """Scan preference data: see `preflint.api.scan`."""
    from preflint.api import scan as scan_data

    return scan_data(data, **options)


def fix(data=None, **options):
    """Repair preference data: see `preflint.api.fix`."""
    from preflint.api import fix as fix_data

    return fix_data(data, **options)
