"""The Ray engine (`--engine ray`, installed with `pip install preflint[ray]`): a scan's batches run on a Ray
cluster, through the same pipeline as on one machine, with the same findings.

    read (one Ray Data read task per input file) -> map_batches (an actor pool: each actor builds the Pipeline, so
    loads the tokenizer and the rules, once) -> each batch's result folded, in input order, by one actor -> finish

Files are read on the cluster by preflint's own readers, so every record is read as the local engine reads it; a
row's number is its global index in input order (each file's first row comes from the record counts of the files
before it, counted on the cluster; Parquet's from its footer). Ray Data keeps the results in input order and the
fold takes them in that order, as the local engine does in its own process: dataset rules may merge sequentially
(D004 indexes prompts in row order, so a tree of merges would cluster differently). Only the folded result (row
findings, each dataset rule's state, the tally) comes to this process; rows never do. Ray is imported only when
this engine runs.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence

from preflint.config import Settings
from preflint.errors import ConfigError, InputError, PreflintError
from preflint.io.read import read_batches
from preflint.io.sources import Source, input_name, resolve_sources
from preflint.pipeline.engine import Engine
from preflint.pipeline.plan import RunPlan
from preflint.pipeline.scan import ScanResult, raw_batches
from preflint.pipeline.steps import Pipeline
from preflint.pipeline.tally import Tally
from preflint.pipeline.workers import collect_rarely

RETRIES = 3  # a task whose worker process dies (killed, out of memory) runs again


def ray_module():
    """Ray, or an error that says how to install it."""
    try:
        import ray
        import ray.data  # noqa: F401 - Ray Data is the `data` extra of ray
    except ImportError as exc:
        raise ConfigError(
            "--engine ray needs Ray Data: pip install 'preflint[ray]' (or 'ray[data]' next to preflint)"
        ) from exc
    return ray


def ray_scan(
    inputs: Sequence[str | Source], plan: RunPlan, progress: Callable[[int], None] | None = None
) -> ScanResult:
    """`scan` on a Ray cluster: the settings' ray_address (or $RAY_ADDRESS), else a Ray started here for the run."""
    started = time.perf_counter()
    ray = ray_module()
    settings = plan.settings
    sources = resolve_sources(inputs)
    if settings.ray_address and any(source.path for source in sources):
        raise InputError(
            "standard input is copied to this machine, which a cluster's nodes cannot read: give files or a dataset "
            "the cluster can read, or scan without --ray-address"
        )
    with connected(ray, settings), _ray_errors(ray):
        merged = _merged_results(ray, sources, plan, progress)
    findings, states, tally, nodes, fold_seconds = merged
    if tally.rows == 0:
        raise InputError(f"no records in {', '.join(map(input_name, inputs))}")
    engine = Engine(plan.rules)
    engine.findings, engine.states = findings, states
    findings = engine.finish()
    summary = tally.summary(findings, plan.selected, plan.profile, time.perf_counter() - started, settings.max_unusable)
    summary["engine"] = {
        "name": "ray",
        "nodes": len(nodes),
        "rows_by_node": dict(sorted(nodes.items())),
        "fold_seconds": round(fold_seconds, 2),
    }
    return ScanResult(
        inputs=[input_name(spec) for spec in inputs],
        tokenizer=tally.tokenizer,
        summary=summary,
        findings=findings,
        rules=plan.selected,
        distributions=tally.distributions(),
    )  # no lines kept: a row's line is read again from its file when an annotation asks (as for a cached result)


@contextlib.contextmanager
def connected(ray, settings: Settings) -> Iterator[None]:
    """Joined to the cluster the settings name (or $RAY_ADDRESS, or one already joined); otherwise a Ray started
    here, on this machine's loopback, without dashboard or usage statistics, and stopped when the run ends."""
    if ray.is_initialized():
        yield
        return
    address = settings.ray_address or os.environ.get("RAY_ADDRESS")
    if address:
        ray.init(address=address, log_to_driver=False, logging_level=logging.WARNING)
    else:
        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
        ray.init(
            address="local",  # a Ray of its own, never one that `ray start` left running on this machine
            num_cpus=settings.jobs,
            include_dashboard=False,
            _node_ip_address="127.0.0.1",
            log_to_driver=False,
            logging_level=logging.WARNING,
        )
    logging.getLogger("ray.data").setLevel(logging.WARNING)  # its progress lines would mix with preflint's
    try:
        yield
    finally:
        ray.shutdown()


@contextlib.contextmanager
def _ray_errors(ray) -> Iterator[None]:
    """A preflint error raised on the cluster (an unreadable file, a rule's failure) is raised here as itself, not
    wrapped in Ray's task errors; a worker that keeps dying is one line that says so."""
    try:
        yield
    except PreflintError:
        raise
    except Exception as exc:
        cause: BaseException | None = exc
        while cause is not None:
            if isinstance(cause, PreflintError):
                raise type(cause)(str(cause)) from exc
            cause = cause.__cause__ or getattr(cause, "cause", None)
        if isinstance(exc, ray.exceptions.RayError):
            raise PreflintError(f"the Ray cluster failed the scan: {type(exc).__name__}: {str(exc)[:500]}") from exc
        raise


def _merged_results(ray, sources: list[Source], plan: RunPlan, progress: Callable[[int], None] | None):
    """Read, run the pipeline and fold the results on the cluster; the folded result comes back here."""
    settings = plan.settings
    first_rows = _first_rows(ray, sources, settings)
    context = ray.data.DataContext.get_current()
    context.execution_options.preserve_order = True  # results in input order: the fold's order is the local one
    # Batches go to the least busy actor, wherever their block was read: one file is read on one node, and the work
    # it holds (tokenizing, rules) is far more than moving its records.
    context.execution_options.actor_locality_enabled = False
    context.target_max_block_size = 1  # a block is a batch (a row of Ray's): else a file's batches join in one block,
    # which one actor would work through alone
    workers = _workers(ray, settings)
    # Reading is light next to the pipeline (as the local engine's reading beside its workers): the read tasks hold
    # no CPU of their own, so the pool can hold every CPU, one actor each.
    read = ray.data.read_datasource(
        _preflint_files(sources, first_rows, settings),
        num_cpus=0,
        concurrency=min(workers, len(sources)),
        override_num_blocks=len(sources),  # one read task per source, its batches each a block as read
    )
    results = read.map_batches(
        _BatchWorker,
        fn_constructor_args=(settings, plan.given_tokenizer),
        batch_size=1,  # one preflint batch per call: with 4, an actor waited for 4 to be read (7 % idle CPU)
        batch_format="pyarrow",
        compute=ray.data.ActorPoolStrategy(size=workers),
        num_cpus=1,
    )  # Ray Data restarts an actor that dies and runs its batches again (max_restarts, max_task_retries: -1)
    fold = ray.remote(num_cpus=0, max_restarts=0)(_Fold).remote(settings)  # a lost fold cannot be redone in part
    folded = []
    for bundle in results.iter_internal_ref_bundles():
        folded += [fold.add.remote(block) for block in bundle.block_refs]  # an actor runs its calls in order
        if progress is not None:
            done, folded = ray.wait(folded, num_returns=len(folded), timeout=0)
            progress(sum(ray.get(done)))
    if progress is not None:
        progress(sum(ray.get(folded)))
    return ray.get(fold.result.remote())


def _workers(ray, settings: Settings) -> int:
    """The actor pool's size: --jobs, else one per CPU of the cluster."""
    return settings.jobs or max(1, int(ray.cluster_resources().get("CPU", 1)))


def _first_rows(ray, sources: list[Source], settings: Settings) -> list[int]:
    """Each source's first row number: the records of the sources before it, counted on the cluster."""
    count = ray.remote(max_retries=RETRIES)(_count_records)
    counts = ray.get([count.remote(source, settings) for source in sources[:-1]])
    firsts = [0]
    for counted in counts:
        firsts.append(firsts[-1] + counted)
    return firsts


def _count_records(source: Source, settings: Settings) -> int:
    """How many records a source holds: a Parquet file's footer says; the others are read as a scan reads them."""
    if source.kind == "parquet" and not source.compression:
        import pyarrow.parquet as pq

        with contextlib.suppress(Exception):  # a damaged file: counted by reading, which says what is wrong
            return pq.ParquetFile(source.location).metadata.num_rows
    batches = read_batches(
        [source],
        batch_size=settings.batch_size,
        split=settings.split,
        subset=settings.subset,
        max_record=settings.max_record_mb << 20,
    )
    return sum(len(raw.rows) for raw in batches)


def _preflint_files(sources: list[Source], first_rows: list[int], settings: Settings):
    """The Ray Data source of the inputs (its class is made here: Ray is imported only when this engine runs)."""
    from ray.data import Datasource, ReadTask
    from ray.data.block import BlockMetadata

    class PreflintFiles(Datasource):
        """Each source read by one Ray task with preflint's readers: its batches as read (records, and the input's
        fields detected from its first records, as `raw_batches` does), numbered from the source's first row."""

        def __init__(self, sources: list[Source], first_rows: list[int], settings: Settings):
            self.sources, self.first_rows, self.settings = sources, first_rows, settings

        def estimate_inmemory_data_size(self) -> int | None:
            return None

        def get_read_tasks(self, parallelism: int, per_task_row_limit=None, data_context=None) -> list:
            return [
                ReadTask(
                    _reader(source, first, self.settings),
                    BlockMetadata(num_rows=None, size_bytes=None, exec_stats=None, input_files=(source.location,)),
                )
                for source, first in zip(self.sources, self.first_rows)
            ]

    return PreflintFiles(sources, first_rows, settings)


def _reader(source: Source, first_row: int, settings: Settings) -> Callable[[], Iterator]:
    def read() -> Iterator:
        for raw, fields in raw_batches([source], settings):
            raw.rows = [row + first_row for row in raw.rows]
            raw.lines = None  # lines are read again on the driver where an annotation needs them
            yield _block("work", [(raw, fields)])

    return read


def _block(column: str, values: list) -> object:
    """Values as a block, a row each, pickled by preflint into a binary column. Ray would pickle Python objects too,
    with cloudpickle into its own Arrow extension type after sizing them object by object: 18 ms a batch in the read
    task, against 1.4 ms. The bytes are made by this run's own code and read only by it (never a file's)."""
    import pickle

    import pyarrow as pa

    payloads = [pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL) for value in values]
    return pa.table({column: pa.array(payloads, pa.large_binary())})


def _values(block, column: str) -> list:
    """The values a block holds in its column (see `_block`)."""
    import pickle

    from ray.data.block import BlockAccessor

    return [pickle.loads(payload) for payload in BlockAccessor.for_block(block).to_arrow()[column].to_pylist()]


class _BatchWorker:
    """An actor of the pool: its own Pipeline (tokenizer and rules loaded once), run over each batch it is given.
    Each batch's result (row findings, each dataset rule's state of the batch alone, tally) is one row out."""

    def __init__(self, settings: Settings, tokenizer):
        import ray

        os.environ["RAYON_NUM_THREADS"] = "1"  # one actor per CPU: one tokenizer thread each
        collect_rarely()  # as a local worker process does
        self.pipeline = Pipeline(RunPlan.build(settings, tokenizer))
        self.node = ray.get_runtime_context().get_node_id()

    def __call__(self, batch):
        pipeline = self.pipeline
        work = _values(batch, "work")
        return _block("result", [(*pipeline.finish(pipeline.prepare(raw, fields)), self.node) for raw, fields in work])


class _Fold:
    """The batches' results folded in input order, as the local engine folds them in its own process: findings
    listed on, each dataset rule's state merged with the batch's (`merge` may be sequential: D004 indexes prompts
    in row order), tallies added. One actor on the cluster; the batches' results reach it from the workers."""

    def __init__(self, settings: Settings):
        collect_rarely()  # as the local engine's own process folds
        self.engine, self.tally, self.nodes = Engine(RunPlan.build(settings).rules), Tally(), Counter()
        self.seconds = 0.0  # busy folding: what bounds a scan however many workers it has

    def add(self, block) -> int:
        started, rows = time.perf_counter(), 0
        for findings, states, part, node in _values(block, "result"):
            self.engine.absorb(findings, states)
            self.tally.merge(part)
            self.nodes[node] += part.rows
            rows += part.rows
        self.seconds += time.perf_counter() - started
        return rows

    def result(self) -> tuple:
        return self.engine.findings, self.engine.states, self.tally, self.nodes, self.seconds
