"""The per-batch pipeline as named steps, run by one runner everywhere a batch is worked on: the scan's own process,
its worker processes, the fix report's samples and the benchmarks' stage timings.

    normalize -> render -> tokenize -> simulate -> examine -> tally

Each step takes a batch's `Work` as the steps before it left it and fills in its part. The first four mostly wait on
native code that releases the GIL (JSON, the Rust tokenizer); `examine` (the rules) and `tally` are Python.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property, partial

from preflint.defects import Defect, RowDefect
from preflint.findings import Finding
from preflint.io.formats import Unreadable
from preflint.io.read import RawBatch
from preflint.pipeline.batch import PairBatch
from preflint.pipeline.engine import Engine
from preflint.pipeline.plan import RunPlan
from preflint.pipeline.tally import Tally
from preflint.shapes.detect import InputFields, read_record
from preflint.shapes.images import image_key
from preflint.shapes.pairs import Pair
from preflint.shapes.samples import Sample
from preflint.tokenizer.wrapper import Tokenizer


@dataclass
class Work:
    """One batch on its way through the steps."""

    raw: RawBatch
    fields: InputFields | None  # the columns detected for the batch's input (None: no readable record yet)
    batch: PairBatch | None = None  # normalize: the records as pairs; render, tokenize, simulate fill it in
    findings: list[Finding] = field(default_factory=list)  # examine: the row rules' findings
    states: list = field(default_factory=list)  # examine: each dataset rule's state for this batch alone
    tally: Tally | None = None  # tally: what the summary counts of it


@dataclass(frozen=True)
class Step:
    name: str
    run: Callable[[Pipeline, Work], None]


class Pipeline:
    """The steps for one plan in one process: its tokenizer (loaded when the first batch needs it) and its rules.
    Built once per process (the scan's own, or each worker's), so a worker loads the tokenizer and the rules once."""

    def __init__(self, plan: RunPlan):
        self.plan = plan
        self.engine = Engine(plan.rules)
        self.profile = plan.profile if plan.needs_trainer else None

    @cached_property
    def tokenizer(self) -> Tokenizer:
        return self.plan.tokenizer()

    @cached_property
    def notes(self) -> set[str]:
        """What the selected rules cannot check with this tokenizer."""
        return {
            f"{rule.code} {rule.name}: {why}" for rule in self.plan.rules if (why := rule.cannot_check(self.tokenizer))
        }

    def run(self, work: Work, steps: tuple[Step, ...]) -> Work:
        for step in steps:
            step.run(self, work)
        return work

    def prepare(self, raw: RawBatch, fields: InputFields | None) -> Work:  # the half a prefetch thread can run ahead
        return self.run(Work(raw, fields), PREPARE)

    def finish(self, work: Work) -> tuple[list[Finding], list, Tally]:
        self.run(work, FINISH)
        return work.findings, work.states, work.tally


def _normalize(pipeline: Pipeline, work: Work) -> None:
    work.batch = to_pairs(work.raw, work.fields, mapped=bool(pipeline.plan.mapping))


def _render(pipeline: Pipeline, work: Work) -> None:
    render(work.batch, pipeline.tokenizer)


def _tokenize(pipeline: Pipeline, work: Work) -> None:
    tokenize(work.batch, pipeline.tokenizer)


def _simulate(pipeline: Pipeline, work: Work) -> None:
    """The trainer's preprocessing of each pair, where a rule needs it."""
    if pipeline.profile is not None:
        work.batch.trainer = pipeline.profile.simulate(work.batch, pipeline.tokenizer)
        work.batch.unpaired_training = not pipeline.profile.trains_pairs


def _examine(pipeline: Pipeline, work: Work) -> None:
    work.findings, work.states = pipeline.engine.examine(work.batch)


def _tally(pipeline: Pipeline, work: Work) -> None:
    work.tally = Tally(notes=set(pipeline.notes))
    work.tally.add(work.batch, work.fields, pipeline.profile)


STEPS = (
    Step("normalize", _normalize),
    Step("render", _render),
    Step("tokenize", _tokenize),
    Step("simulate", _simulate),
    Step("examine", _examine),
    Step("tally", _tally),
)
PREPARE, FINISH = STEPS[:4], STEPS[4:]
BY_NAME = {step.name: step for step in STEPS}


def to_pairs(raw: RawBatch, fields: InputFields | None, mapped: bool = False) -> PairBatch:
    """The records as pairs, or as samples with their pair views, each read with its input's fields (see
    `read_record`); a record that is neither keeps its place with the defect that says why."""
    pairs: list[Pair | None] = []
    samples: list[Sample | None] = []
    defects: list[RowDefect | None] = []
    for record in raw.records:
        pair = sample = defect = None
        try:
            if isinstance(record, Unreadable):
                raise RowDefect(Defect.UNREADABLE, record.reason)
            assert fields is not None  # a readable record always has fields detected for its source
            pair, sample, _ = read_record(record, fields, mapped)
        except RowDefect as found:
            defect = found
        pairs.append(pair)
        samples.append(sample)
        defects.append(defect)
    hashes = [
        sample.content_hash() if sample else content_hash(pair) if pair else None
        for pair, sample in zip(pairs, samples)
    ]
    batch = PairBatch(raw.source, raw.rows, pairs, defects, hashes, records=raw.records)
    if any(samples):
        batch.samples = samples
    return batch


def content_hash(pair: Pair) -> str:
    """Identity of a pair's content, stable across row order and input format."""
    parts = (pair.prompt, pair.chosen, pair.rejected)
    images = [list(map(image_key, seen)) for seen in (pair.images, *(pair.side_images or ())) if seen]
    if pair.rejected_prompt is None and not images and all(isinstance(part, str) for part in parts):
        # The common case, without a JSON encoding per row; lengths first, so no two pairs share a payload.
        payload = f"text {len(parts[0])} {len(parts[1])} " + "".join(parts)
    else:  # template arguments and images only where a row has them, so every other row keeps the hash baselines hold
        extra = ([pair.template_args] if pair.template_args else []) + ([images] if images else [])
        payload = json.dumps([*parts, pair.rejected_prompt, *extra], ensure_ascii=False, default=_media_key)
    return hashlib.blake2b(payload.encode("utf-8", "surrogatepass"), digest_size=8).hexdigest()


def _media_key(value) -> str:
    """A media part's value in the hash: bytes by their digest, anything else as text."""
    return image_key(value) if isinstance(value, bytes | bytearray) else str(value)


def render(batch: PairBatch, tokenizer: Tokenizer) -> None:
    """Fill the text columns; chat rows go through the tokenizer's chat template, as a trainer renders them. A
    sample's candidates are rendered once each; its pair view takes two of them."""
    batch.prompt, batch.chosen, batch.rejected, batch.follows_prompt = [], [], [], []
    batch.candidates = [None] * len(batch) if batch.samples else []
    for i, pair in enumerate(batch.pairs):
        texts, follows, sample = ("", "", ""), True, batch.sample(i)
        if pair is not None or sample is not None:
            try:
                if sample is not None:
                    texts, follows = _render_sample(batch, i, sample, tokenizer)
                else:
                    texts, follows = _render_chat(pair, tokenizer) if pair.is_chat else (_render_text(pair), True)
            except Exception as exc:  # a template is untrusted code: any failure is a finding on the row
                chat, prompt = (sample.is_chat, sample.candidates[0].prompt) if sample else (pair.is_chat, pair.prompt)
                batch.pairs[i] = None
                if sample is not None:
                    batch.samples[i] = batch.candidates[i] = None
                batch.hashes[i] = None
                why = NO_PROMPT if chat and not prompt else f"the chat template failed on this row: {exc}"
                batch.defects[i] = RowDefect(Defect.TEMPLATE_ERROR, why)
                texts, follows = ("", "", ""), True
        batch.prompt.append(texts[0])
        batch.chosen.append(texts[1])
        batch.rejected.append(texts[2])
        batch.follows_prompt.append(follows)
    batch._comparable = batch._text_keys = None


NO_PROMPT = (
    "the conversation has no prompt, only the assistant's replies: the chat template cannot render an "
    "empty prompt, and a trainer fails on it the same way"
)


def _render_sample(batch: PairBatch, i: int, sample: Sample, tokenizer: Tokenizer) -> tuple[tuple[str, str, str], bool]:
    """Each candidate's reply as rendered after its prompt (the row's, rendered once), into `batch.candidates[i]`;
    the prompt and the pair view's two replies, if it has one."""
    first = sample.candidates[0].prompt
    if sample.is_chat:
        chat = tokenizer.render_chat
        prompt = chat(first, add_generation_prompt=True)
        replies, follows = [], True
        for candidate in sample.candidates:
            own = prompt if candidate.prompt == first else chat(candidate.prompt, add_generation_prompt=True)
            text, whole = _completion(chat, candidate.prompt, candidate.reply, own)
            replies.append(text)
            follows = follows and whole
    else:
        prompt, replies, follows = first, [candidate.reply for candidate in sample.candidates], True
    batch.candidates[i] = replies
    extremes = sample.extremes() if batch.pairs[i] is not None else None
    chosen, rejected = (replies[extremes[0]], replies[extremes[1]]) if extremes else ("", "")
    return (prompt, chosen, rejected), follows


def _render_text(pair: Pair) -> tuple[str, str, str]:
    return pair.prompt, pair.chosen, pair.rejected


def _render_chat(pair: Pair, tokenizer: Tokenizer) -> tuple[tuple[str, str, str], bool]:
    chat = partial(tokenizer.render_chat, **pair.template_args)
    prompt = chat(pair.prompt, add_generation_prompt=True)
    rejected_prompt = chat(pair.rejected_prompt, add_generation_prompt=True) if pair.rejected_prompt else prompt
    chosen, chosen_follows = _completion(chat, pair.prompt, pair.chosen, prompt)
    rejected, rejected_follows = _completion(chat, pair.prompt_of_rejected, pair.rejected, rejected_prompt)
    return (prompt, chosen, rejected), chosen_follows and rejected_follows


def _completion(chat, prompt: list, completion: list, rendered_prompt: str) -> tuple[str, bool]:
    """The completion is what the whole conversation adds after the rendered prompt (TRL does the same), and
    whether the whole starts with the rendered prompt (a template may render a final turn differently)."""
    whole = chat(prompt + completion, add_generation_prompt=False)
    if whole.startswith(rendered_prompt):
        return whole[len(rendered_prompt) :], True
    common = 0
    for a, b in zip(whole, rendered_prompt):
        if a != b:
            break
        common += 1
    return whole[common:], False


def tokenize(batch: PairBatch, tokenizer: Tokenizer) -> None:
    """Tokenize each prompt once and each completion once, all in one batched call (a sample's candidates too: a
    pair view's sides are two of them, tokenized once)."""
    n = len(batch)
    flat = [text for texts in batch.candidates if texts for text in texts]
    ids = tokenizer.encode_many(batch.prompt + batch.chosen + batch.rejected + flat)
    batch.prompt_ids, batch.chosen_ids, batch.rejected_ids = ids[:n], ids[n : 2 * n], ids[2 * n : 3 * n]
    if batch.candidates:
        at, batch.candidate_ids = 3 * n, []
        for texts in batch.candidates:
            batch.candidate_ids.append(ids[at : at + len(texts)] if texts else None)
            at += len(texts) if texts else 0
    batch.tokenizer = tokenizer
