"""Which columns of a record hold what: the prompt, the two responses, a system prompt, tools and scores, found by
their usual names (aliases) or named with `--map`; and what to say of columns that hold no pairs at all."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from preflint.errors import ConfigError, InputError

PROMPT_ALIASES = (
    "prompt",
    "question",
    "instruction",
    "query",
    "conversations",
    "input",
    "context",
    "history",
    "messages",
)
CHOSEN_ALIASES = (
    "chosen",
    "response_j",
    "chosen_response",
    "response_chosen",
    "preferred_output",
    "preferred",
    "better_response",
    "chosen_messages",  # LLaMA-Factory v1: the whole dialogue, its content a list of typed parts
)
REJECTED_ALIASES = (
    "rejected",
    "response_k",
    "rejected_response",
    "response_rejected",
    "non_preferred_output",
    "dispreferred",
    "worse_response",
    "rejected_messages",
)
SYSTEM_ALIASES = ("system", "system_prompt")
HISTORY = "history"  # Alpaca-style earlier turns: [[user, assistant], ...] before the instruction
PAIRED_OUTPUT = "output"  # old pairwise Alpaca data: `output` holds [chosen, rejected]
INDEXED = re.compile(r"^(?P<column>.+)\[(?P<index>\d+)\]$")  # `output[0]`: an item of a list column
EVAL_TURNS = "turns"  # MT-Bench's and Arena-Hard's questions, one prompt per turn (reference data only)
TOOLS_ALIASES = ("tools",)  # function definitions TRL passes to the chat template (a list, or JSON text of one)
TEMPLATE_KWARGS_ALIASES = ("chat_template_kwargs",)  # more arguments TRL passes to it (Qwen3's enable_thinking)
SCORE_ALIASES = {
    "score_chosen": (
        "score_chosen",
        "chosen_score",
        "chosen_rating",
        "chosen-rating",
        "rating_chosen",
        "chosen_reward",
    ),
    "score_rejected": (
        "score_rejected",
        "rejected_score",
        "rejected_rating",
        "rejected-rating",
        "rating_rejected",
        "rejected_reward",
    ),
    "margin": ("margin",),
}
IMAGES_ALIASES = ("images", "image")  # a vision row's images (TRL reads both; LLaMA-Factory's `images`)
SIDE_IMAGES_ALIASES = (("chosen_images", "rejected_images"),)  # images given to each side apart
GENERATOR_ALIASES = (  # the columns naming the model that wrote each side
    ("chosen_model", "rejected_model"),
    ("chosen-model", "rejected-model"),
    ("model_chosen", "model_rejected"),
    ("chosen_generator", "rejected_generator"),
)
SAMPLE_MAP_KEYS = (  # labelled pairs, ranked candidates and unpaired rows (shapes/samples.py)
    "first",
    "second",
    "label",
    "label_first",
    "label_second",
    "label_tie",
    "completion",
    "candidates",
    "score",
    "rank",
)
MAP_KEYS = ("prompt", "chosen", "rejected", "system", "tools", "images", *SCORE_ALIASES, *SAMPLE_MAP_KEYS)


@dataclass(frozen=True)
class Fields:
    """Which columns hold the prompt, the two responses, a system prompt and scores."""

    chosen: str
    rejected: str
    prompt: tuple[str, ...] = ()
    system: str | None = None
    scores: Mapping[str, str] = field(default_factory=dict)
    tools: str | None = None
    template_kwargs: str | None = None
    history: str | None = None  # earlier turns, Alpaca style: the pair becomes a conversation
    generators: tuple[str, str] | None = None  # the columns naming each side's model (L006)
    images: str | None = None  # the row's images (vision pairs)
    side_images: tuple[str, str] | None = None  # each side's own images, where the data gives them apart

    def describe(self) -> str:
        parts = []
        if self.prompt:
            parts.append("prompt=" + "+".join(self.prompt))
        parts += [f"chosen={self.chosen}", f"rejected={self.rejected}"]
        if self.system:
            parts.append(f"system={self.system}")
        if self.tools:
            parts.append(f"tools={self.tools}")
        if self.template_kwargs:
            parts.append(f"chat_template_kwargs={self.template_kwargs}")
        if self.history:
            parts.append(f"history={self.history}")
        parts += [f"{role}={column}" for role, column in self.scores.items()]
        if self.generators:
            parts.append("generators=" + "+".join(self.generators))
        if self.images:
            parts.append(f"images={self.images}")
        if self.side_images:
            parts.append("side images=" + "+".join(self.side_images))
        return ", ".join(parts)


def parse_map(spec: str | Mapping[str, str] | None) -> dict[str, str]:
    """`prompt=question,chosen=response_j` (or a config table) -> {"prompt": "question", ...}."""
    if not spec:
        return {}
    items = spec.items() if isinstance(spec, Mapping) else (_split_assignment(part) for part in spec.split(","))
    mapping = {}
    for key, column in items:
        if key not in MAP_KEYS:
            raise ConfigError(f"--map: unknown field {key!r} (known: {', '.join(MAP_KEYS)})")
        mapping[key] = column
    return mapping


def _split_assignment(part: str) -> tuple[str, str]:
    key, sep, column = part.partition("=")
    if not sep or not key.strip() or not column.strip():
        raise ConfigError(f"--map: expected FIELD=COLUMN, got {part!r}")
    return key.strip(), column.strip()


def detect_fields(
    columns: Iterable[str], mapping: Mapping[str, str], source: str, sample: Mapping | None = None
) -> Fields:
    """Pick the columns for each role: `--map` first, then the first alias present (`sample`, a record, tells an
    `output` column of [chosen, rejected] from an answer). Errors name the `source`: the pre-commit hook and globs
    pass many files, and the one without pairs must be findable."""
    paired = sample is not None and isinstance(sample.get(PAIRED_OUTPUT), list) and len(sample[PAIRED_OUTPUT]) >= 2
    try:
        return _pick_fields(list(dict.fromkeys(columns)), mapping, paired)
    except InputError as exc:
        raise InputError(f"{source!r}: {exc}") from None


def column_of(spec: str) -> str:
    """The column a field is read from: `output` for `output[0]`."""
    indexed = INDEXED.match(spec)
    return indexed["column"] if indexed else spec


def _pick_fields(present: list[str], mapping: Mapping[str, str], paired_output: bool = False) -> Fields:
    for key, column in mapping.items():
        for part in column.split("+"):
            if column_of(part) not in present:
                raise InputError(f"--map {key}={column}: no column {part!r} (columns: {', '.join(present)})")

    def pick(role: str, aliases: tuple[str, ...]) -> str | None:
        if role in mapping:
            return mapping[role]
        return next((name for name in aliases if name in present), None)

    chosen, rejected = pick("chosen", CHOSEN_ALIASES), pick("rejected", REJECTED_ALIASES)
    if chosen is None and rejected is None and PAIRED_OUTPUT in present and paired_output:
        chosen, rejected = f"{PAIRED_OUTPUT}[0]", f"{PAIRED_OUTPUT}[1]"  # [chosen, rejected] in one column
    if chosen is None or rejected is None:
        raise InputError(
            f"cannot tell which columns hold the chosen and rejected responses (columns: {', '.join(present)}); "
            + (
                _unpaired(present)
                or "name them with --map chosen=COLUMN,rejected=COLUMN (or, for other shapes, first=,second=,label=; "
                "candidates=,score=; completion=,label=: see the README's Input section)"
            )
        )
    prompt = pick("prompt", PROMPT_ALIASES)
    prompt_columns: tuple[str, ...] = tuple(prompt.split("+")) if prompt else ()
    if prompt == "instruction" and "input" in present and "prompt" not in mapping:
        prompt_columns = ("instruction", "input")  # Alpaca style: the input extends the instruction
    scores = {role: column for role in SCORE_ALIASES if (column := pick(role, SCORE_ALIASES[role]))}
    return Fields(
        chosen,
        rejected,
        prompt_columns,
        pick("system", SYSTEM_ALIASES),
        scores,
        pick("tools", TOOLS_ALIASES),
        pick("template_kwargs", TEMPLATE_KWARGS_ALIASES),
        history=HISTORY if HISTORY in present and HISTORY not in prompt_columns else None,
        generators=next((names for names in GENERATOR_ALIASES if set(names) <= set(present)), None),
        images=pick("images", IMAGES_ALIASES),
        side_images=next((names for names in SIDE_IMAGES_ALIASES if set(names) <= set(present)), None),
    )


RANKED_HINT_COLUMNS = ("answers", "completions", "responses", "outputs")  # Nectar, UltraFeedback before binarizing
RATED_ATTRIBUTES = ("helpfulness", "correctness", "score", "rating", "reward")  # HelpSteer2: one response per row
TREE_COLUMNS = ("message_id", "parent_id")  # OpenAssistant's message table
TREE_EXPORT = "message_tree_id"  # OpenAssistant's tree export: one tree per row, ranked replies nested in it


def _unpaired(columns: list[str]) -> str:
    """What to say of data preflint reads neither as pairs nor as samples (samples.py), where `--map` may not help."""
    if ranked := next((name for name in RANKED_HINT_COLUMNS if name in columns), None):
        return (
            f"column {ranked!r} looks like several responses per row (Nectar, UltraFeedback), but preflint found no "
            "score or rank in it: name them with --map candidates=COLUMN,score=KEY (or rank=KEY, lower is better)"
        )
    if set(TREE_COLUMNS) <= set(columns) or TREE_EXPORT in columns:
        return (
            "these look like OpenAssistant message trees (a message per row, or a tree per row): preflint reads one "
            "prompt's candidates per row; export the ranked replies to each message as one row (its dialogue as the "
            "prompt, the replies as candidates with their ranks)"
        )
    if "response" in columns and any(name in columns for name in RATED_ATTRIBUTES):
        return (
            "these look like one rated response per row (HelpSteer2): preflint reads preferences within a row, not "
            "across rows; group the responses of each prompt into one row (prompt, candidates with scores)"
        )
    if "messages" in columns or {"prompt", "completion"} <= set(columns):
        return "these look like supervised fine-tuning data (one response per row); preflint checks preference data"
    return ""
