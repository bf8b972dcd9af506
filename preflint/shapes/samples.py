"""Preference data that is not a ready-made pair, read as a Sample: one prompt and its candidate replies.

Forms, told apart by their columns (or named with `--map`):
  labelled  two replies and a label saying which is preferred: PKU-SafeRLHF (`response_0`/`response_1`,
            `better_response_id`), SHP (`human_ref_A`/`human_ref_B`, `labels`), Chatbot Arena and MT-Bench
            (`conversation_a`/`conversation_b`, `winner`), HelpSteer3 (`response1`/`response2`,
            `overall_preference`), AlpacaEval (`output_1`/`output_2`, `preference`), judge benchmarks
  ranked    a list of candidates with scores or ranks: UltraFeedback's `completions` (`response`, `overall_score`),
            Nectar's `answers` (`answer`, `rank`), generations beside a list of reward scores
  unpaired  one completion labelled desirable or undesirable (KTO): TRL's `prompt`/`completion`/`label`,
            LLaMA-Factory's `messages` + `label`

Every candidate gets a score, higher is better: a rating as given, a rank negated, a label's winner 1 and loser 0
(a tie 0.5 each; graded labels grade it). A labelled or ranked sample whose scores differ has a pair view, the pair
a DPO run gets from it (best against worst): the pair rules check that. A tie has none, nor an unpaired row.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from preflint.defects import Defect, RowDefect
from preflint.errors import InputError
from preflint.shapes.fields import PROMPT_ALIASES, SYSTEM_ALIASES, Fields
from preflint.shapes.pairs import (
    ASSISTANT_MARKERS,
    Content,
    Pair,
    _as_messages,
    _completion_start,
    _describe,
    _prompt,
    as_content,
    plain_text,
)
from preflint.text import blank

LABELLED, RANKED, UNPAIRED = "labelled", "ranked", "unpaired"
FORM_NAMES = {
    LABELLED: "labelled pairs (two responses and a label)",
    RANKED: "rated or ranked candidates",
    UNPAIRED: "unpaired (KTO: a completion labelled desirable or not)",
}

# Labelled pairs: two reply columns named alike and a label column.
TWIN_SUFFIXES = (("_0", "_1"), ("_1", "_2"), ("_a", "_b"), ("_A", "_B"), (" 1", " 2"), ("1", "2"))
TWIN_STEMS = ("response", "ref", "conversation", "answer", "completion", "output", "reply", "text", "generation")
PREFERENCE_LABELS = ("better_response_id", "labels", "label", "winner", "overall_preference", "preference", "choice")
GENERATOR_WORDS = ("model", "generator", "source", "policy")  # per-candidate columns or keys naming who wrote it

# Ranked: a list column of candidates, each an object (its text, score or rank, generator) or text beside a list
# of scores.
RANKED_COLUMNS = (
    "completions",
    "answers",
    "responses",
    "outputs",
    "candidates",
    "generations",
    "all_generated_responses",
)
REPLY_KEYS = ("response", "answer", "text", "output", "completion", "generation", "content")
SCORE_KEYS = ("overall_score", "score", "rating", "reward", "fine-grained_score")
RANK_KEYS = ("rank", "ranking")
SCORE_COLUMNS = ("scores", "rewards", "ratings", "all_rm_scores", "rm_scores")

# Unpaired (KTO).
KTO_LABELS = ("label", "kto_tag")
KTO_COMPLETIONS = ("completion",)
KTO_DIALOGUES = ("messages", "conversations")  # the completion is the dialogue's last assistant turn
DESIRABLE = {"true": True, "false": False, "1": True, "0": False, "desirable": True, "undesirable": False}

TIE_WORDS = ("tie", "draw", "equal", "a=b", "b=a", "a~b", "b~a", "both", "neither", "same")
FIRST_WORDS = ("model_a", "a", "a>b", "a>>b", "first", "response_a", "response a", "left")
SECOND_WORDS = ("model_b", "b", "b>a", "b>>a", "second", "response_b", "response b", "right")


@dataclass(frozen=True)
class SampleFields:
    """Which columns hold a sample's prompt, its candidates, and what says which is preferred."""

    form: str  # LABELLED | RANKED | UNPAIRED
    candidates: tuple[str, ...]  # labelled: the two reply columns; ranked: the list column; unpaired: the completion
    prompt: tuple[str, ...] = ()  # none: each candidate is a whole dialogue holding its prompt
    label: str | None = None
    codec: str = "generic"  # how a numeric label reads (CODECS)
    values: tuple[str | None, str | None, str | None] | None = None  # --map label_first, label_second, label_tie
    reply_key: str | None = None  # ranked: a candidate object's text (None: the list holds text)
    score_key: str | None = None  # ranked: its score, higher is better
    rank_key: str | None = None  # ranked: its rank, lower is better
    scores: str | None = None  # ranked: a list column of scores beside a list of text
    generators: tuple[str, ...] = ()  # labelled: the columns naming each reply's generator; ranked: the key
    system: str | None = None

    def describe(self) -> str:
        parts = ["prompt=" + "+".join(self.prompt)] if self.prompt else []
        if self.form == RANKED:
            inner = ", ".join(
                f"{name}={key}"
                for name, key in (("reply", self.reply_key), ("score", self.score_key), ("rank", self.rank_key))
                if key
            )
            parts.append(f"candidates={self.candidates[0]}" + (f" ({inner})" if inner else ""))
            if self.scores:
                parts.append(f"scores={self.scores}")
        elif self.form == LABELLED:
            parts += [f"first={self.candidates[0]}", f"second={self.candidates[1]}"]
        else:
            parts.append(f"completion={self.candidates[0]}")
        if self.label:
            parts.append(f"label={self.label}" + (f" ({self.codec})" if self.codec != "generic" else ""))
        if self.generators:
            parts.append("generators=" + "+".join(self.generators))
        if self.system:
            parts.append(f"system={self.system}")
        return ", ".join(parts)


@dataclass
class Candidate:
    name: str  # where it is in the record, in words: "response_0", "completions[2]"
    path: tuple  # the keys that reach its reply in the record: ("response_0",), ("completions", 2, "response")
    prompt: Content  # the prompt it answers: the row's, or its own dialogue's
    reply: Content
    score: float | None = None  # higher is better; None: not rated, it cannot be in a pair
    generator: str | None = None
    rating: str | None = None  # how the data rates it, in its words: "rank 2", "overall_score 7.5"


@dataclass
class Sample:
    form: str
    candidates: list[Candidate]
    label: object = None  # the label as given (labelled, unpaired)
    desirable: bool | None = None  # unpaired
    by_rank: bool = False  # ranked by rank (lower is better), the scores being the ranks negated

    @property
    def is_chat(self) -> bool:
        return isinstance(self.candidates[0].prompt, list)

    @property
    def kind(self) -> str:
        return "conversational" if self.is_chat else "text"

    def rated(self) -> list[int]:
        """Positions of the candidates a pair can be made of, best first (the earlier of equals first): those with
        a score, and of ranked ones, those with words (an empty candidate is left out, C003)."""
        scored = [k for k, candidate in enumerate(self.candidates) if self.usable(candidate)]
        return sorted(scored, key=lambda k: -self.candidates[k].score)

    def usable(self, candidate: Candidate) -> bool:
        return candidate.score is not None and (self.form != RANKED or not blank(plain_text(candidate.reply)))

    @property
    def tie(self) -> bool:
        """Labelled or ranked, and no two rated candidates differ: no pair can be made of it."""
        rated = self.rated()
        return (
            self.form != UNPAIRED
            and len(rated) >= 2
            and self.candidates[rated[0]].score == self.candidates[rated[-1]].score
        )

    def extremes(self) -> tuple[int, int] | None:
        """The best and the worst candidate (the first listed of equals), if their scores differ."""
        rated = self.rated()
        if self.form == UNPAIRED or len(rated) < 2:
            return None
        lowest = self.candidates[rated[-1]].score
        best, worst = rated[0], next(k for k in rated if self.candidates[k].score == lowest)
        return (best, worst) if self.candidates[best].score > lowest else None

    def pair(self) -> Pair | None:
        """The pair a DPO run gets from this sample (best against worst), as preflint writes it with --binarize."""
        extremes = self.extremes()
        if extremes is None:
            return None
        best, worst = (self.candidates[k] for k in extremes)
        pair = Pair(
            self.kind,
            best.prompt,
            best.reply,
            worst.reply,
            rejected_prompt=None if worst.prompt == best.prompt else worst.prompt,
            scores={"score_chosen": best.score, "score_rejected": worst.score} if self.form == RANKED else {},
        )
        pair.generators = (best.generator, worst.generator) if best.generator and worst.generator else None
        return pair

    def content_hash(self) -> str:
        """Identity of the sample's content, stable across row order and input format."""
        payload = json.dumps(
            [self.form, [[c.prompt, c.reply, c.score] for c in self.candidates], self.desirable],
            ensure_ascii=False,
            default=str,
        )
        return hashlib.blake2b(payload.encode("utf-8", "surrogatepass"), digest_size=8).hexdigest()


def detect_sample_fields(columns: Sequence[str], mapping: Mapping[str, str], record: Mapping | None) -> SampleFields:
    """The sample fields of data whose columns are not a pair's (InputError saying what is missing otherwise)."""
    present = list(dict.fromkeys(columns))
    for key, column in mapping.items():
        if key in ("label_first", "label_second", "label_tie", "score", "rank"):
            continue
        for part in column.split("+"):
            if part not in present:
                raise InputError(f"--map {key}={column}: no column {part!r} (columns: {', '.join(present)})")
    record = record or {}
    system = next((name for name in SYSTEM_ALIASES if name in present), None)
    if "candidates" in mapping or (not _mapped_labelled(mapping) and "completion" not in mapping):
        ranked = _ranked(present, mapping, record)
        if ranked is not None:
            return SampleFields(RANKED, **ranked, prompt=_prompt_columns(present, mapping, ranked["candidates"]))
    twins = _twins(present, mapping)
    if twins is not None and "completion" not in mapping:
        first, second, label = twins
        return SampleFields(
            LABELLED,
            (first, second),
            _prompt_columns(present, mapping, (first, second)),
            label,
            codec="generic" if isinstance(record.get(label), str) else _codec(first, second, label),
            values=_values(mapping),
            generators=_twin_generators(present, first, second),
            system=system,
        )
    unpaired = _unpaired(present, mapping)
    if unpaired is not None:
        completion, label = unpaired
        prompt = _prompt_columns(present, mapping, (completion,)) if completion not in KTO_DIALOGUES else ()
        return SampleFields(UNPAIRED, (completion,), prompt, label, system=system)
    raise InputError("no preference pairs, labelled pairs, ranked candidates or unpaired (KTO) rows")


def _mapped_labelled(mapping: Mapping[str, str]) -> bool:
    return "first" in mapping or "second" in mapping


def _prompt_columns(present: list[str], mapping: Mapping[str, str], taken: Sequence[str]) -> tuple[str, ...]:
    if "prompt" in mapping:
        return tuple(mapping["prompt"].split("+"))
    prompt = next((name for name in PROMPT_ALIASES if name in present and name not in taken), None)
    if prompt == "instruction" and "input" in present:
        return ("instruction", "input")  # Alpaca style: the input extends the instruction
    return (prompt,) if prompt else ()


def _ranked(present: list[str], mapping: Mapping[str, str], record: Mapping) -> dict | None:
    """A list column of candidates: objects with a reply and a score or rank, or text beside a list of scores."""
    names = [mapping["candidates"]] if "candidates" in mapping else [n for n in RANKED_COLUMNS if n in present]
    for name in names:
        items = record.get(name)
        if not isinstance(items, list) or not items:
            continue
        first = next((item for item in items if item is not None), None)
        if isinstance(first, Mapping):
            if "role" in first or "from" in first:  # a conversation, not candidates
                continue
            reply = next((key for key in REPLY_KEYS if key in first), None)
            score = mapping.get("score") or next((key for key in SCORE_KEYS if key in first), None)
            rank = mapping.get("rank") or (
                None if "score" in mapping else next((k for k in RANK_KEYS if k in first), None)
            )
            if reply is None or (score is None and rank is None):
                continue
            if "score" in mapping or "rank" in mapping:
                score, rank = mapping.get("score"), mapping.get("rank")
            generator = next((key for key in GENERATOR_WORDS if key in first), None)
            return {
                "candidates": (name,),
                "reply_key": reply,
                "score_key": score,
                "rank_key": rank,
                "generators": (generator,) if generator else (),
            }
        if isinstance(first, str | list):
            scores = mapping.get("score") or next((n for n in SCORE_COLUMNS if n in present), None)
            if scores is not None and isinstance(record.get(scores), list):
                return {"candidates": (name,), "scores": scores}
    return None


def _twins(present: list[str], mapping: Mapping[str, str]) -> tuple[str, str, str] | None:
    """Two reply columns named alike (`response_0`, `response_1`) beside a preference label column."""
    label = mapping.get("label") or next((name for name in PREFERENCE_LABELS if name in present), None)
    if label is None:
        return None
    if _mapped_labelled(mapping):
        if not ("first" in mapping and "second" in mapping):
            raise InputError("--map first=COLUMN needs second=COLUMN too (and label=COLUMN where none is found)")
        return mapping["first"], mapping["second"], label
    for first in present:
        for suffix, other in TWIN_SUFFIXES:
            stem = first.removesuffix(suffix)
            if stem != first and stem + other in present and any(word in stem.lower() for word in TWIN_STEMS):
                return first, stem + other, label
    return None


def _twin_generators(present: list[str], first: str, second: str) -> tuple[str, ...]:
    """Columns naming each reply's generator, told apart as the replies are: model_a/model_b beside
    conversation_a/conversation_b, generator_1/generator_2, response_0_source/response_1_source."""
    suffix = next(((a, b) for a, b in TWIN_SUFFIXES if first.endswith(a) and second == first[: -len(a)] + b), None)
    if suffix is None:
        return ()
    a, b = suffix
    for column in present:
        if column in (first, second) or not any(word in column.lower() for word in GENERATOR_WORDS):
            continue
        at = column.find(a)
        if at >= 0 and (twin := column[:at] + b + column[at + len(a) :]) in present:
            return column, twin
    return ()


def _unpaired(present: list[str], mapping: Mapping[str, str]) -> tuple[str, str] | None:
    label = mapping.get("label") or next((name for name in KTO_LABELS if name in present), None)
    completion = mapping.get("completion") or next(
        (name for name in (*KTO_COMPLETIONS, *KTO_DIALOGUES) if name in present), None
    )
    return (completion, label) if label and completion else None


def _values(mapping: Mapping[str, str]) -> tuple[str | None, str | None, str | None] | None:
    given = tuple(mapping.get(key) for key in ("label_first", "label_second", "label_tie"))
    if not any(given):
        return None
    if given[0] is None or given[1] is None:
        raise InputError("--map label_first=VALUE needs label_second=VALUE too (label_tie=VALUE is optional)")
    return given


CODECS = {
    "index": "0 prefers the first reply, 1 the second (PKU-SafeRLHF's better_response_id)",
    "shp": "1 prefers A, 0 prefers B (SHP's labels)",
    "signed": "below 0 prefers the first reply, above 0 the second, 0 is a tie (HelpSteer3's overall_preference)",
    "ordinal": "1 prefers the first reply, 2 the second, 0 or 1.5 is a tie; between 1 and 2, the nearer wins "
    "(AlpacaEval's preference, LLMBar's label)",
    "index-tie": "0 prefers the first reply, 1 the second, 2 is a tie (Auto-J's `response 1`/`response 2` label)",
    "generic": "text: 'model_a', 'A', 'A>B' prefer the first reply; 'model_b', 'B', 'B>A' the second; 'tie' ...",
}


def _codec(first: str, second: str, label: str) -> str:
    if label == "overall_preference":
        return "signed"
    if first.endswith("_0") and second.endswith("_1"):
        return "index"
    if first.endswith(" 1") and second.endswith(" 2"):
        return "index-tie"
    if first[-1:] in "aA" and second[-1:] in "bB":
        return "shp"
    return "ordinal"


def read_sample(record: Mapping, fields: SampleFields) -> Sample:
    """One record -> one Sample, or RowDefect saying what is wrong with it."""
    needed = [*fields.candidates, *fields.prompt, *([fields.label] if fields.label else [])]
    missing = [name for name in dict.fromkeys(needed) if name not in record]
    if fields.scores and fields.scores not in record:
        missing.append(fields.scores)
    if missing:
        raise RowDefect(Defect.MISSING_FIELD, f"missing field {', '.join(map(repr, missing))}")
    prompt = _prompt(record, Fields("", "", fields.prompt)) if fields.prompt else None
    system = record.get(fields.system) if fields.system else None
    if system is not None and not isinstance(system, str):
        raise RowDefect(Defect.INVALID_TYPE, f"{fields.system} is {_describe(system)}, not text")
    if fields.form == RANKED:
        candidates = _ranked_candidates(record, fields)
    else:
        candidates = [{"name": name, "path": (name,), "value": record[name]} for name in fields.candidates]
        for given, column in zip(candidates, fields.generators):
            given["generator"] = None if record.get(column) is None else str(record[column])
    sample = Sample(fields.form, [_candidate(prompt, system, **candidate) for candidate in candidates])
    sample.by_rank = fields.form == RANKED and fields.rank_key is not None
    _same_format(sample)
    if fields.form == LABELLED:
        sample.label = record[fields.label]
        winner = decode_label(sample.label, fields)
        first, second = sample.candidates
        first.score, second.score = winner
    elif fields.form == UNPAIRED:
        sample.label = record[fields.label]
        sample.desirable = _desirable(sample.label, fields.label)
    return sample


def _ranked_candidates(record: Mapping, fields: SampleFields) -> list[dict]:
    name = fields.candidates[0]
    items = record[name]
    if not isinstance(items, list) or not items:
        what = "an empty list" if isinstance(items, list) else _describe(items)
        raise RowDefect(Defect.INVALID_TYPE, f"{name} is {what}, not a list of candidates")
    if fields.scores:
        scores = record[fields.scores]
        if not isinstance(scores, list) or len(scores) != len(items):
            raise RowDefect(
                Defect.INVALID_TYPE,
                f"{fields.scores} is {_describe(scores)}, not a list of {len(items)} scores, one per candidate",
            )
        return [
            {"name": f"{name}[{k}]", "path": (name, k), "value": item, "score": _number(score), "rating": f"{score!r}"}
            for k, (item, score) in enumerate(zip(items, scores))
        ]
    candidates = []
    for k, item in enumerate(items):
        if not isinstance(item, Mapping) or fields.reply_key not in item:
            raise RowDefect(
                Defect.INVALID_TYPE, f"{name}[{k}] is {_describe(item)}, not a candidate with a {fields.reply_key!r}"
            )
        key = fields.score_key or fields.rank_key
        given = item.get(key)
        score = _number(given)
        generator = item.get(fields.generators[0]) if fields.generators else None
        candidates.append(
            {
                "name": f"{name}[{k}]",
                "path": (name, k, fields.reply_key),
                "value": item[fields.reply_key],
                "score": score if fields.score_key or score is None else -score,  # the best rank is the lowest
                "rating": f"{key} {given!r}" if not isinstance(given, int | float) else f"{key} {given:g}",
                "generator": None if generator is None else str(generator),
            }
        )
    return candidates


def _number(value) -> float | None:
    """A score or rank: a number, or text of one; anything else (null, 'N/A', NaN) leaves the candidate unrated."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(number) or math.isinf(number) else number


def _candidate(
    prompt: Content | None,
    system: str | None,
    name: str,
    path: tuple,
    value,
    score: float | None = None,
    generator: str | None = None,
    rating: str | None = None,
) -> Candidate:
    """A candidate read as a pair's side is: with the row's prompt, or cut from its own dialogue."""
    reply = as_content(value, name)
    if prompt is None or (isinstance(reply, list) and any(m["role"] != "assistant" for m in reply)):
        own, reply = _split(reply, name)
    else:
        own = prompt
    if isinstance(own, list) or isinstance(reply, list) or system:
        own, reply = _as_messages(own, "user"), _as_messages(reply, "assistant")
        if system and not (own and own[0]["role"] == "system"):
            own = [{"role": "system", "content": system}, *own]
    return Candidate(name, path, own, reply, score, generator, rating)


def _split(reply: Content, name: str) -> tuple[Content, Content]:
    """A whole dialogue's prompt (everything before its final assistant turns) and reply."""
    if isinstance(reply, str):
        marker = next((m for m in ASSISTANT_MARKERS if m in reply), None)
        if marker is None:
            return "", reply
        cut = reply.rfind(marker) + len(marker)
        return reply[:cut], reply[cut:]
    cut = _completion_start(reply)
    if cut == len(reply):
        raise RowDefect(
            Defect.INVALID_TYPE, f"{name} ends with a {reply[-1]['role']!r} turn, not the assistant's reply"
        )
    return reply[:cut], reply[cut:]


def _same_format(sample: Sample) -> None:
    """Text and message candidates in one sample are made messages alike, so that a pair of them compares."""
    if len({isinstance(c.prompt, list) for c in sample.candidates}) > 1:
        for candidate in sample.candidates:
            candidate.prompt = _as_messages(candidate.prompt, "user")
            candidate.reply = _as_messages(candidate.reply, "assistant")


def decode_label(value, fields: SampleFields) -> tuple[float, float]:
    """The two replies' scores from a label: (1, 0) the first preferred, (0, 1) the second, (0.5, 0.5) a tie; a
    graded label grades them (HelpSteer3's -3 is (3, 0); AlpacaEval's 1.25 is (0.75, 0.25))."""
    if fields.values is not None:
        for scores, given in zip(((1.0, 0.0), (0.0, 1.0), (0.5, 0.5)), fields.values):
            if given is not None and _same_value(value, given):
                return scores
        raise _unknown_label(value, fields)
    if isinstance(value, str):
        text = value.strip().lower()
        if text in (fields.candidates[0].lower(), *FIRST_WORDS):
            return 1.0, 0.0
        if text in (fields.candidates[1].lower(), *SECOND_WORDS):
            return 0.0, 1.0
        if any(word in text for word in TIE_WORDS):
            return 0.5, 0.5
        number = _number(value)
        if number is None:
            raise _unknown_label(value, fields)
        value = number
    codec = _codec_of(value, fields)
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
        raise _unknown_label(value, fields)
    if codec == "signed":
        return (max(-value, 0.0), max(value, 0.0)) if value else (0.5, 0.5)
    if codec in ("index", "index-tie") and value in (0, 1):
        return (1.0, 0.0) if value == 0 else (0.0, 1.0)
    if codec == "index-tie" and value == 2:
        return 0.5, 0.5
    if codec == "shp" and value in (0, 1):
        return (1.0, 0.0) if value == 1 else (0.0, 1.0)
    if codec == "ordinal":
        if value == 0:
            return 0.5, 0.5
        if 1 <= value <= 2:
            second = value - 1
            return (0.5, 0.5) if second == 0.5 else (1 - second, second)
    raise _unknown_label(value, fields)


def _same_value(value, given: str) -> bool:
    if str(value).strip() == given.strip():
        return True
    number, wanted = _number(value), _number(given)
    return number is not None and number == wanted


def _codec_of(value, fields: SampleFields) -> str:
    """How a label value was read: words as words, numbers (or numbers written as text, as CSV has them) by the
    codec the columns' names say, even where the file's first label was a word."""
    if fields.codec != "generic" or (isinstance(value, str) and _number(value) is None):
        return fields.codec
    return _codec(*fields.candidates, fields.label)


def _unknown_label(value, fields: SampleFields) -> RowDefect:
    return RowDefect(
        Defect.INVALID_TYPE,
        f"{fields.label} is {_describe(value)}, which says neither which reply is preferred nor a tie ("
        + (
            "the values given with --map label_first/label_second/label_tie"
            if fields.values
            else f"read as {CODECS[_codec_of(value, fields)]}; "
            "name the values with --map label_first=V,label_second=V,label_tie=V"
        )
        + ")",
    )


def _desirable(value, column: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in DESIRABLE:
        return DESIRABLE[value.strip().lower()]
    raise RowDefect(
        Defect.INVALID_TYPE, f"{column} is {_describe(value)}, not a desirable/undesirable label (true or false)"
    )
