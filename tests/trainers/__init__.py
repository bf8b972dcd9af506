"""Helpers for the trainer tests."""

from preflint.pipeline.plan import RunPlan
from preflint.pipeline.scan import raw_batches
from preflint.pipeline.steps import PREPARE, Pipeline, Work


def pair_batches(sources, settings, tokenizer, simulate=False):
    """Normalized, rendered, tokenized batches (with the trainer's rows when `simulate`), in this process: the scan's
    own steps, run here."""
    plan = RunPlan.build(settings, tokenizer)
    pipeline = Pipeline(plan)
    pipeline.profile = plan.profile if simulate else None
    for raw, fields in raw_batches(sources, plan.settings):
        yield pipeline.run(Work(raw, fields), PREPARE).batch, fields
