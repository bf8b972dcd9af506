"""Command line: `preflint scan`, `preflint fix`, `preflint rules`, `preflint rule CODE`. Exit 0 clean, 1 findings,
2 error.

`main(argv) -> int` runs the CLI without a subprocess (tests call it); `run()` is the console script.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sys
from contextlib import contextmanager, nullcontext
from pathlib import Path

import click

from preflint.baseline import Baseline
from preflint.config import load_settings
from preflint.configs import openrlhf, read_trainer_config
from preflint.configs.trainer_config import Resolved
from preflint.errors import PreflintError, one_line
from preflint.fixing.binarize import STRATEGIES
from preflint.io.outputs import STDOUT, OutputSet, atomic_write, check_targets
from preflint.io.scratch import scratch_dir, sweep
from preflint.io.shards import REJECTS, check_directory, is_shard_directory, publish
from preflint.io.sources import check_dataset_options
from preflint.pipeline.plan import RunPlan, registry_for
from preflint.pipeline.workers import allow_fork
from preflint.registry import Registry
from preflint.report import FORMATS
from preflint.text import printable
from preflint.version import __version__

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2
EXIT_TERMINATED = 128 + 15  # as a shell reports a process ended by SIGTERM
DEFAULT_BASELINE = ".preflint-baseline.json"


def _codes(_ctx, _param, value: str | None) -> tuple[str, ...] | None:
    """`--select P,M0 --select S001` -> ("P", "M0", "S001")."""
    if not value:
        return None
    return tuple(part.strip() for item in value for part in item.split(",") if part.strip())


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="preflint")
def cli() -> None:
    """Lint and repair preference datasets (DPO, IPO, ORPO, KTO, reward models) with the model's own tokenizer."""


def _data_options(command):
    """The options `scan` and `fix` share: how to read the data, which rules, which tokenizer and trainer."""
    options = [
        click.argument("data", nargs=-1),
        click.option(
            "--from-config",
            type=click.Path(dir_okay=False),
            help="Take the trainer, limits, tokenizer, chat template and datasets from your trainer's own config "
            "(LLaMA-Factory, axolotl or `trl dpo` YAML, an OpenRLHF launch script; or give OpenRLHF's command after "
            "--). DATA then names some of its datasets, or other data to read as they are read.",
        ),
        click.option(
            "-t", "--tokenizer", help="Alias (llama, mistral, qwen, ...), tokenizer directory or file, or hub model id."
        ),
        click.option(
            "--chat-template",
            type=click.Path(dir_okay=False),
            help="Render conversations with this Jinja chat template file instead of the tokenizer's (the one your "
            "trainer uses).",
        ),
        click.option("--split", help="Split of a hub dataset or saved dataset."),
        click.option("--subset", help="Subset (configuration) of a hub dataset."),
        click.option(
            "--map", "mapping", help="Column mapping, e.g. prompt=question,chosen=response_j,rejected=response_k."
        ),
        click.option("--select", multiple=True, callback=_codes, help="Rules to run: codes, prefixes, names or ALL."),
        click.option("--ignore", multiple=True, callback=_codes, help="Rules to skip."),
        click.option("--extend-select", multiple=True, callback=_codes, help="Rules to add to the selection."),
        click.option("--exit-zero", is_flag=True, help="Exit 0 even when there are findings."),
        click.option(
            "--config",
            "config_path",
            type=click.Path(dir_okay=False, path_type=Path),
            help="Config file (default: the closest preflint.toml or pyproject.toml).",
        ),
        click.option(
            "--against",
            multiple=True,
            help="Reference data (e.g. a test set) whose prompts must not appear here (rule D005); repeatable. A "
            "dataset is read in its held-out splits; DATASET[SPLIT] names one.",
        ),
        click.option(
            "--trainer",
            help="Simulate this trainer's preprocessing: plain (default), trl, openrlhf, llamafactory, axolotl.",
        ),
        click.option("--max-length", type=int, help="Trainer max length (default: the trainer's own)."),
        click.option("--max-prompt-length", type=int, help="Prompt limit (trainers that have one)."),
        click.option("--max-completion-length", type=int, help="Completion limit (trainers that have one)."),
        click.option("--truncation-mode", help="Which end of a long sequence is kept: keep_start or keep_end."),
        click.option(
            "--image-tokens",
            type=int,
            help="Tokens each image becomes in the model's input (default: known from the tokenizer's name, else 1).",
        ),
        click.option("--batch-size", type=int, help="Rows per batch (default 1000)."),
        click.option(
            "-j",
            "--jobs",
            type=int,
            help="Worker processes for inputs of 20,000 pairs or more (default: one per core); 1 runs in one process.",
        ),
        click.option(
            "--engine",
            type=click.Choice(["local", "ray"]),
            help="Where batches run: local (this machine's processes, the default) or ray (a Ray cluster; pip "
            "install 'preflint[ray]').",
        ),
        click.option(
            "--ray-address",
            help="The Ray cluster to run on with --engine ray (default: $RAY_ADDRESS, else a Ray started for the run "
            "on this machine).",
        ),
        click.option(
            "--no-progress", is_flag=True, help="No progress bar (it is shown only when stderr is a terminal)."
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _plan(data, config_path, against, from_config, **overrides) -> tuple[RunPlan, list[str], Resolved | None]:
    """The run's plan: the config file's settings, then the trainer config's, then the command line's on top,
    resolved once; with the inputs to read and, from a trainer config, where its settings came from."""
    launched = click.get_current_context().obj  # OpenRLHF's command, given after `--`
    if from_config and launched:
        raise click.UsageError("give the trainer's config with --from-config or its command after --, not both")
    settings, resolved = load_settings(config_path), None
    if from_config or launched:
        resolved = read_trainer_config(launched or from_config).resolve(settings, overrides, data)
        data, settings = resolved.inputs, resolved.settings
    elif not data:
        raise click.UsageError(
            "missing argument 'DATA...': name the data, or the trainer config that names it (--from-config)",
            ctx=click.get_current_context(),
        )
    check_dataset_options(data, split=overrides["split"], subset=overrides["subset"])
    settings = settings.override(**overrides)
    if against:
        settings = settings.with_rule_options("reference-overlap", against=list(against))
    return RunPlan.build(settings), list(data), resolved


@cli.command()
@_data_options
@click.option("--format", "output_format", type=click.Choice(sorted(FORMATS)), default="text", show_default=True)
@click.option(
    "-o",
    "--output-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the report here (-: standard output, the default).",
)
@click.option("--statistics", is_flag=True, help="Counts per rule and share of rows (text format).")
@click.option(
    "--limit",
    type=click.IntRange(min=0),
    default=10,
    show_default=True,
    help="Rows shown per rule in text and markdown formats (0: all).",
)
@click.option(
    "--baseline",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Only findings not in this baseline count (see --write-baseline; default: the config's baseline).",
)
@click.option(
    "--write-baseline",
    is_flag=True,
    help=f"Record the current findings as the baseline (in --baseline, or the config's, or {DEFAULT_BASELINE}) and "
    "exit 0.",
)
@click.option("--no-cache", is_flag=True, help="Scan again even if an identical scan's result is cached.")
@click.option(
    "--cache-dir",
    type=click.Path(file_okay=False),
    help="Where results are cached (default: $PREFLINT_CACHE_DIR or ~/.cache/preflint).",
)
def scan(
    data,
    output_format,
    output_file,
    statistics,
    limit,
    exit_zero,
    config_path,
    against,
    no_progress,
    baseline,
    write_baseline,
    no_cache,
    **overrides,
) -> int:
    """Report problems in preference DATA (files, globs, a dataset directory, a hub dataset id, or - for standard
    input), or in the data a trainer's config names, as that trainer reads it (--from-config)."""
    from preflint.pipeline.cache import cached_scan

    plan, data, resolved = _plan(data, config_path, against, cache=False if no_cache else None, **_renamed(overrides))
    settings = plan.settings
    read_also = resolved.files if resolved else []
    if output_file == STDOUT:
        output_file = None
    baseline = baseline or (Path(settings.baseline) if settings.baseline else None)
    target = baseline or Path(DEFAULT_BASELINE)
    if write_baseline:
        check_targets([(target, "--baseline")], [*data, *settings.references, *read_also], force=True)
    elif output_file:
        reads = [*data, *settings.references, *read_also, *([str(baseline)] if baseline else [])]
        check_targets([(output_file, "--output-file")], reads, force=True)
    known = Baseline.load(baseline) if baseline and not write_baseline else None  # a bad baseline fails before the scan
    with _progress(not no_progress and sys.stderr.isatty(), "scanning") as advance:
        result = cached_scan(data, plan, progress=advance)
    if resolved:
        resolved.annotate(result.summary)
    if write_baseline:
        with atomic_write(target, text=True) as stream:
            stream.write(Baseline.of(result.findings).to_json())
        later = (
            "later scans"
            if settings.baseline
            else f"later scans with --baseline {target} (or baseline = {json.dumps(str(target))} in the config)"
        )
        click.echo(
            printable(f"preflint: recorded {len(result.findings)} finding(s) in {target}; {later} report only new ones")
        )
        return EXIT_CLEAN
    if known:
        known.apply(result)
        result.summary["baseline"]["path"] = str(baseline)
    writer = FORMATS[output_format]
    if output_file:
        with atomic_write(output_file, text=True) as stream:
            writer(result, stream, color=False, statistics=statistics, limit=limit)
    else:
        writer(result, sys.stdout, color=sys.stdout.isatty(), statistics=statistics, limit=limit)
    return EXIT_FINDINGS if result.findings and not exit_zero else EXIT_CLEAN


@cli.command("fix")
@_data_options
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    help="The cleaned data: .parquet or .jsonl (-: JSON Lines on standard output, the summary on stderr), or a "
    "directory: Parquet shards, the rejects and a manifest.json written last.",
)
@click.option(
    "--rejects",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The dropped rows with their reasons: .parquet or .jsonl.",
)
@click.option(
    "--report",
    type=click.Path(dir_okay=False, path_type=Path),
    help="A report: .html (self-contained), .md (Markdown, for a dataset card) or .json.",
)
@click.option(
    "--unsafe-fixes",
    is_flag=True,
    help="Apply unsafe fixes too (judgement calls: near-identical pairs, contradictions, swaps).",
)
@click.option("--diff", is_flag=True, help="Show what would change and write nothing.")
@click.option(
    "--provenance", is_flag=True, help="Add preflint_row (input row) and preflint_fixes (codes applied) columns."
)
@click.option("--force", is_flag=True, help="Replace existing output files (never an input).")
@click.option(
    "--binarize",
    type=click.Choice(STRATEGIES),
    help="Make pairs of labelled pairs or rated/ranked candidates, then fix the pairs (ties never become pairs).",
)
@click.option(
    "--seed",
    type=int,
    default=0,
    show_default=True,
    help="The seed of --binarize best-vs-random (same seed, same pairs).",
)
def fix_command(
    data,
    out,
    rejects,
    report,
    unsafe_fixes,
    diff,
    provenance,
    force,
    binarize,
    seed,
    exit_zero,
    config_path,
    against,
    no_progress,
    **overrides,
) -> int:
    """Write a repaired copy of preference DATA: safe fixes by default, unsafe ones on request."""
    from preflint.fixing.binarize import Binarize
    from preflint.fixing.run import Outputs, fix
    from preflint.report.fix_text import write_fix_summary

    if not diff and not out:
        raise click.UsageError("give --out PATH to write the fixed data, or --diff to see the changes")
    if diff and (out or rejects or report):
        given = ", ".join(
            name for name, value in (("--out", out), ("--rejects", rejects), ("--report", report)) if value
        )
        raise click.UsageError(f"--diff writes nothing: drop {given}")
    if binarize and diff:
        raise click.UsageError("--binarize writes pairs, a new shape: give --out instead of --diff")
    if report is not None and report.suffix.lower() not in (".html", ".htm", ".json", ".md"):
        raise click.UsageError(f"--report {report}: write .html, .md or .json (the format follows the file name)")
    plan, data, resolved = _plan(data, config_path, against, **_renamed(overrides))
    to_stdout = out == STDOUT
    if resolved:  # the trainer's config and what it names are read too: never an output
        written = [(out, "--out"), (rejects, "--rejects"), (report, "--report")]
        check_targets(
            [(path, option) for path, option in written if path not in (None, STDOUT)], resolved.files, force=True
        )
    shards = out if out is not None and not to_stdout and is_shard_directory(out) else None
    if shards:
        reads = [*data, *plan.settings.references, *(resolved.files if resolved else ())]
        check_directory(shards, reads, force=force)
    with (
        scratch_dir("stdout" if to_stdout else "shards") if to_stdout or shards else nullcontext() as scratch,
        OutputSet(replace=force) as files,  # the data, the rejects and the report appear together, or none
    ):
        if to_stdout:
            out = Path(scratch) / "fixed.jsonl"
        if shards:  # written whole here, then published as shards with their manifest
            out, rejects = Path(scratch) / "fixed.parquet", rejects or Path(scratch) / "rejects.parquet"
        outputs = Outputs(
            None if diff else out, rejects=rejects, provenance=provenance, force=force, report=report, files=files
        )
        with _progress(not no_progress and sys.stderr.isatty(), "fixing") as advance:
            pairs = Binarize(binarize, seed) if binarize else None
            result = fix(data, plan, outputs, unsafe=unsafe_fixes, progress=advance, binarize=pairs)
        if resolved:
            resolved.annotate(result.before.summary)
        if report is not None:
            _write_report(result, report, outputs.streams["--report"])
        if to_stdout:
            files.commit()
            _write_to_stdout(out)
            result.outputs.out = STDOUT
        if shards:
            files.commit()
            beside = rejects.parent == Path(scratch)  # no --rejects given: they go in the directory
            publish(out, rejects if beside else None, shards, result.accounting())
            result.outputs.out = shards
            result.outputs.rejects = shards / REJECTS if beside else rejects
    summary = sys.stderr if to_stdout else sys.stdout
    write_fix_summary(result, summary, color=summary.isatty())
    if diff:
        return EXIT_FINDINGS if result.changes and not exit_zero else EXIT_CLEAN
    return EXIT_FINDINGS if result.remaining and not exit_zero else EXIT_CLEAN


def _write_report(result, report: Path, stream) -> None:
    """The fix report in the format its name asks for."""
    if report.suffix.lower() == ".json":
        json.dump(result.to_dict(), stream, ensure_ascii=False, indent=2)
        stream.write("\n")
    elif report.suffix.lower() == ".md":
        from preflint.report.markdown import write_fix_markdown

        write_fix_markdown(result, stream)
    else:
        from preflint.report.html import write_html

        write_html(result, stream)


def _write_to_stdout(path: Path) -> None:
    """A file's bytes onto standard output, after whatever was printed there."""
    sys.stdout.flush()
    with open(path, "rb") as source:
        shutil.copyfileobj(source, sys.stdout.buffer)
    sys.stdout.buffer.flush()


def _renamed(overrides: dict) -> dict:
    """CLI option names -> Settings fields."""
    overrides["map"] = overrides.pop("mapping")
    return overrides


@cli.command("rules")
@click.option(
    "--format", "output_format", type=click.Choice(["text", "json", "markdown"]), default="text", show_default=True
)
def list_rules(output_format: str) -> int:
    """List every rule: code, name, family, severity, fix."""
    registry = registry_for(load_settings())
    if output_format == "markdown":
        click.echo(rules_markdown(registry), nl=False)
        return EXIT_CLEAN
    if output_format == "json":
        import json

        rows = [
            {
                "code": r.code,
                "name": r.name,
                "family": r.family,
                "severity": r.severity.value,
                "fix": r.fix_label(),
                "summary": r.summary(),
            }
            for r in registry
        ]
        click.echo(json.dumps(rows, indent=2))
        return EXIT_CLEAN
    from rich.console import Console
    from rich.table import Table

    table = Table(box=None, header_style="bold", pad_edge=False)
    for column in ("code", "name", "family", "severity", "fix"):
        table.add_column(column, no_wrap=True)
    table.add_column("what it finds", ratio=1)
    for rule in registry:
        table.add_row(rule.code, rule.name, rule.family, rule.severity.value, rule.fix_label(), rule.summary())
    Console(soft_wrap=False, highlight=False, width=None if sys.stdout.isatty() else 160).print(table)
    return EXIT_CLEAN


def rules_markdown(registry: Registry) -> str:
    """The rule table of the README (a test keeps the README equal to this)."""
    lines = ["| code | name | severity | fix | options | what it finds |", "|---|---|---|---|---|---|"]
    for rule in registry:
        options = ", ".join(f"`{name}` = `{value!r}`" for name, value in rule.options.items())
        lines.append(
            f"| {rule.code} | {rule.name} | {rule.severity.value} | {rule.fix_label()} | {options} | {rule.summary()} |"
        )
    return "\n".join(lines) + "\n"


@cli.command("rule")
@click.argument("selector")
def show_rule(selector: str) -> int:
    """Show one rule's documentation (by code or name)."""
    rule = registry_for(load_settings()).get(selector)
    fix = f"{rule.fix_label()} ({rule.fix.description})" if rule.fix else "none"
    header = f"# {rule.code} {rule.name}\n\nFamily: {rule.family} · Severity: {rule.severity.value} · Fix: {fix}\n"
    options = "".join(f"- `{name}` (default `{value!r}`)\n" for name, value in rule.options.items())
    body = rule.documentation()
    click.echo(header + "\n" + body + ("\n\n## Options\n" + options if options else "\n"))
    return EXIT_CLEAN


@contextmanager
def _progress(enabled: bool, label: str):
    if not enabled:
        yield None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
    )

    # drawn as each batch is done, not by a refresh thread: with no thread running, workers can be forked
    with Progress(
        SpinnerColumn(),
        TextColumn(label),
        BarColumn(),
        TextColumn("{task.completed:,} rows"),
        TimeElapsedColumn(),
        transient=True,
        console=Console(stderr=True),  # standard output is the report's (or the fixed rows')
        auto_refresh=False,
    ) as progress:
        task = progress.add_task("scan", total=None)

        def advance(rows: int) -> None:
            progress.advance(task, rows)
            progress.refresh()

        yield advance


def main(argv: list[str] | None = None) -> int:
    allow_fork()  # this process is preflint's alone: its scans may fork their workers
    sweep()  # what runs killed with -9 left in the temporary directory
    with _terminated_cleanly():
        return _main(argv)


@contextmanager
def _terminated_cleanly():
    """SIGTERM ends a run as an error does: the stack unwinds, so scratch files are removed, outputs not yet in
    place never appear and worker processes are stopped (Python's default ends the process where it stands)."""

    def stop(signum, frame):
        raise SystemExit(EXIT_TERMINATED)

    try:
        previous = signal.signal(signal.SIGTERM, stop)
    except ValueError:  # not the main thread: a host program's own business
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _main(argv: list[str] | None) -> int:
    argv, command = _trainer_command(sys.argv[1:] if argv is None else list(argv))
    try:
        code = cli.main(args=argv, prog_name="preflint", standalone_mode=False, obj=command)
    except click.exceptions.NoArgsIsHelpError as exc:  # `preflint` alone: its help
        exc.show()
        return EXIT_ERROR
    except click.ClickException as exc:  # a usage error: one line, as every other error
        click.echo(f"preflint: error: {printable(_usage_message(exc))}", err=True)
        return EXIT_ERROR
    except click.Abort:
        click.echo("preflint: aborted", err=True)
        return EXIT_ERROR
    except PreflintError as exc:
        click.echo(f"preflint: error: {printable(str(exc))}", err=True)
        return EXIT_ERROR
    except OSError as exc:  # e.g. the output file's directory does not exist
        click.echo(printable(f"preflint: error: {exc.strerror or exc}: {exc.filename or ''}".rstrip(": ")), err=True)
        return EXIT_ERROR
    except Exception as exc:  # a bug in preflint: one line and how to report it; the traceback on request
        if os.environ.get("PREFLINT_TRACEBACK"):
            raise
        click.echo(
            f"preflint: internal error: {type(exc).__name__}: {printable(one_line(exc))}\n"
            "This is a bug in preflint. Please report it with the command you ran (PREFLINT_TRACEBACK=1 shows "
            "where it happened); your data was not changed.",
            err=True,
        )
        return EXIT_ERROR
    return code if isinstance(code, int) else EXIT_CLEAN


def _trainer_command(argv: list[str]) -> tuple[list[str], list[str] | None]:
    """preflint's own arguments, and a trainer's command pasted after `--` (`preflint scan -- deepspeed --module
    openrlhf.cli.train_dpo ...`): its config. After a `--` without one, the arguments are DATA, as usual."""
    if "--" in argv:
        end = argv.index("--")
        if openrlhf.is_command(argv[end + 1 :]):
            return argv[:end], argv[end + 1 :]
    return argv, None


def _usage_message(exc: click.ClickException) -> str:
    """Click's message in preflint's style (lower case, no full stop), with where to read the usage."""
    message = exc.format_message().strip().rstrip(".")
    message = message[:1].lower() + message[1:]
    context = getattr(exc, "ctx", None)
    return f"{message} (see '{context.command_path} --help')" if context else message


def run() -> None:
    sys.exit(main())
