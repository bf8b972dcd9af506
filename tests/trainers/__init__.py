"""Helpers for the trainer tests."""

from preflint.pipeline.scan import normalized_batches, prepare


def pair_batches(sources, settings, mapping, tokenizer, profile=None):
    """Normalized, rendered, tokenized batches (with the trainer's rows when `profile` is given), in this process."""
    for batch, fields in normalized_batches(sources, settings, mapping):
        prepare(batch, tokenizer, profile)
        yield batch, fields
