"""The Python API: `preflint.scan(data)` and `preflint.fix(data)` on a path, a `datasets.Dataset` or
`DatasetDict`, a pandas DataFrame or a list of dicts, with the same settings as the command line.

In-memory data is written to a temporary Parquet (or JSON Lines) file and goes through the very pipeline the CLI
runs, so results are the same; row numbers are positions in the data given.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from preflint.config import SETTING_NAMES, Settings, load_settings
from preflint.configs import read_trainer_config
from preflint.configs.trainer_config import Resolved
from preflint.errors import InputError
from preflint.io.scratch import scratch_dir
from preflint.io.sources import Source
from preflint.pipeline.plan import RunPlan
from preflint.tokenizer.wrapper import Tokenizer

FINDING_COLUMNS = ["code", "name", "severity", "row", "hash", "message", "fix"]


@dataclass
class Report:
    """What a scan or fix found: `findings` (a DataFrame, one finding per row), `summary` (a dict, as in
    `--format json`), and after `fix` the repaired data and the dropped rows as `datasets.Dataset`s."""

    summary: dict
    findings: Any  # pandas.DataFrame
    data: Any = None  # datasets.Dataset: the fixed rows (fix only)
    rejects: Any = None  # datasets.Dataset: the dropped rows with their reasons (fix only)
    result: Any = None  # the ScanResult or FixResult behind this report

    @property
    def ok(self) -> bool:
        """No findings (for `fix`: none left in the output)."""
        return len(self.findings) == 0


def scan(
    data=None,
    *,
    tokenizer: str | Any = None,
    config: str | os.PathLike | None = None,
    from_config: str | os.PathLike | Sequence[str] | None = None,
    **settings: Any,
) -> Report:
    """Scan preference data; `settings` are the CLI's options by name (select=["P", "W001"], trainer="trl", ...).
    `from_config` (the trainer's config, or OpenRLHF's command as a list) gives the data and settings of the run it
    launches, as --from-config does."""
    from preflint.pipeline.cache import cached_scan
    from preflint.pipeline.scan import scan as run_scan

    plan, data, resolved = _plan(config, tokenizer, settings, from_config, data)
    with scratch_dir("api") as scratch:
        inputs, in_memory = _inputs(data, Path(scratch), plan.settings.split)
        result = run_scan(inputs, plan) if in_memory else cached_scan(inputs, plan)
    if resolved:
        resolved.annotate(result.summary)
    return Report(result.summary, _frame(result.findings), result=result)


def fix(
    data=None,
    *,
    unsafe_fixes: bool = False,
    binarize: str | None = None,
    seed: int = 0,
    tokenizer: str | Any = None,
    config: str | os.PathLike | None = None,
    from_config: str | os.PathLike | Sequence[str] | None = None,
    **settings: Any,
) -> Report:
    """Repair preference data: `Report.data` holds the kept rows, `Report.rejects` the dropped ones with reasons,
    `Report.findings` what remains. Safe fixes only, unless `unsafe_fixes=True` (the CLI's `--unsafe-fixes`).
    `binarize` ("best-vs-worst", ...; the CLI's `--binarize`, with `seed`) makes pairs of labelled pairs or rated
    candidates first: `Report.data` holds the pairs."""
    import datasets
    import pyarrow.parquet as pq

    from preflint.fixing.binarize import Binarize
    from preflint.fixing.run import Outputs
    from preflint.fixing.run import fix as run_fix

    plan, data, resolved = _plan(config, tokenizer, settings, from_config, data)
    with scratch_dir("api") as scratch:
        inputs, _ = _inputs(data, Path(scratch), plan.settings.split)
        out, rejects = Path(scratch) / "fixed.parquet", Path(scratch) / "rejects.parquet"
        pairs = Binarize(binarize, seed) if binarize else None
        result = run_fix(inputs, plan, Outputs(out, rejects=rejects), unsafe=unsafe_fixes, binarize=pairs)
        fixed = datasets.Dataset(pq.read_table(out)) if out.exists() else None
        dropped = datasets.Dataset(pq.read_table(rejects)) if rejects.exists() else None
    if resolved:
        resolved.annotate(result.before.summary)
    return Report(result.to_dict(), _frame(result.remaining), data=fixed, rejects=dropped, result=result)


def _plan(config, tokenizer, options: dict, from_config, data) -> tuple[RunPlan, Any, Resolved | None]:
    """The plan for the config file's settings (or the defaults), the trainer config's, and the options given (a
    tokenizer object is used as given); with the data to read (the trainer config's datasets, if none is given)."""
    base = load_settings(Path(config)) if config is not None else Settings()
    unknown = sorted(set(options) - set(SETTING_NAMES))
    if unknown:
        raise TypeError(f"unknown setting {unknown[0]!r} (known: {', '.join(sorted(SETTING_NAMES))})")
    resolved = None
    if from_config is not None:
        given = {**options, "tokenizer": tokenizer}
        names = [] if data is None else _paths(data) or [f"<{type(data).__name__}>"]  # data in memory, by its type
        resolved = read_trainer_config(from_config).resolve(base, given, names, given_by="argument")
        base = resolved.settings
        data = resolved.inputs if data is None else data
    elif data is None:
        raise TypeError("give the data to check, or from_config= the trainer's config that names it")
    loaded = None
    if isinstance(tokenizer, Tokenizer):
        loaded = tokenizer
    elif tokenizer is not None and not isinstance(tokenizer, str | os.PathLike):
        if not getattr(tokenizer, "is_fast", False):
            raise TypeError("tokenizer must be a name, a path, or a transformers fast tokenizer")
        loaded = Tokenizer(
            getattr(tokenizer, "name_or_path", "") or "given", "tokenizer object given to preflint", tokenizer
        )
    elif tokenizer is not None:
        options["tokenizer"] = str(tokenizer)
    return RunPlan.build(base.override(**options), loaded), data, resolved


def _paths(data) -> list[str] | None:
    """`data` as the paths it names; None for data in memory."""
    if isinstance(data, str | os.PathLike):
        return [os.fspath(data)]
    if isinstance(data, list | tuple) and data and all(isinstance(item, str | os.PathLike) for item in data):
        return [os.fspath(item) for item in data]
    return None


def _inputs(data, scratch: Path, split: str | None) -> tuple[list[str | Source], bool]:
    """Inputs for `data`, writing in-memory data to `scratch` (reported by its type, "<DataFrame>", not by that
    file's name); and whether it was in memory."""
    if (paths := _paths(data)) is not None:
        return paths, False
    import datasets
    import pandas

    given = f"<{type(data).__name__}>"
    if isinstance(data, datasets.DatasetDict):
        names = list(data)
        name = split or ("train" if "train" in data else names[0] if len(names) == 1 else None)
        if name not in data:
            raise InputError(f"the DatasetDict has splits {', '.join(names)}: say which with split=...")
        data, given = data[name], f"<DatasetDict[{name!r}]>"
    target, kind = scratch / "data.parquet", "parquet"
    if isinstance(data, datasets.Dataset):
        import pyarrow.parquet as pq

        pq.write_table(data.with_format("arrow")[:], target)
    elif isinstance(data, pandas.DataFrame):
        data.to_parquet(target, index=False)
    elif isinstance(data, list | tuple):
        target, kind = scratch / "data.jsonl", "jsonl"
        with open(target, "w", encoding="utf-8") as handle:
            handle.writelines(
                json.dumps(record, default=str) + "\n" for record in data
            )  # ASCII escapes: half a surrogate pair writes too, and the reader reports it
    else:
        raise InputError(
            f"cannot read {type(data).__name__}: give a path, a Dataset, a DatasetDict, a DataFrame or a list of dicts"
        )
    return [Source(given, kind, path=str(target))], True


def _frame(findings):
    import pandas

    rows = [
        {**finding.to_dict(), "fix": finding.fix.applicability.value if finding.fix else None} for finding in findings
    ]
    return pandas.DataFrame(rows, columns=FINDING_COLUMNS).astype({"row": "Int64"})
