"""Trainer profiles: each reproduces one trainer's preprocessing of a preference row, so rules can check the
token ids, completion masks and truncation the model will actually get.

A profile turns a batch into one `TrainerRow` per usable pair. Options follow the trainer's own names and
defaults; an option the trainer does not have is a configuration error, not silently ignored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from importlib import metadata
from typing import TYPE_CHECKING, ClassVar, NamedTuple

from preflint.errors import ConfigError, one_line
from preflint.trainers.images import ImageTokens, ImageUse, image_use, is_vision

if TYPE_CHECKING:
    from preflint.pipeline.batch import PairBatch
    from preflint.shapes.fields import Fields
    from preflint.shapes.samples import SampleFields
    from preflint.tokenizer.wrapper import Tokenizer

TRUNCATION_MODES = ("keep_start", "keep_end")


@dataclass(frozen=True)
class TrainerOptions:
    max_length: int | None = None
    max_prompt_length: int | None = None
    max_completion_length: int | None = None
    truncation_mode: str = "keep_start"

    def describe(self) -> dict:
        """The options in force; the truncation mode only when something can be truncated."""
        described = {key: value for key, value in vars(self).items() if value is not None}
        if self.max_length is None:
            described.pop("truncation_mode")
        return described


class Altered(NamedTuple):
    """What the trainer trains on as a side's reply, where that is not the data's reply (M010)."""

    text: str
    why: str
    strippable: bool = False  # stripping the reply's edge whitespace would make the trainer train on the reply


@dataclass
class SideInput:
    """One side as the trainer feeds it to the model.

    The completion mask is always a run of 0s (the kept prompt) then a run of 1s (the kept completion), so it is
    kept as one count and built only when asked for: most pairs never need it as a list.
    """

    joint_ids: list[int]  # prompt + completion before truncation, as the trainer tokenized them
    completion_start: int  # where the trainer takes the completion to start in joint_ids
    input_ids: list[int]  # after truncation: what the model gets (may be joint_ids itself: do not mutate)
    prompt_kept: int  # how many of input_ids are prompt (mask 0); the rest are completion (mask 1)
    altered: Altered | None = None  # the reply the trainer trains on instead of the data's, and why

    @property
    def completion_ids(self) -> list[int]:
        return self.joint_ids[self.completion_start :]

    @property
    def completion_kept(self) -> int:
        return len(self.input_ids) - self.prompt_kept

    @property
    def completion_mask(self) -> list[int]:
        return [0] * self.prompt_kept + [1] * self.completion_kept


class Unprocessable(Exception):
    """The trainer's preprocessing raises on this row (the run stops there); the message says why. `every_row`: it
    raises on every row like it (the dataset's columns, a tokenizer without a chat template), so dropping rows is
    no repair."""

    def __init__(self, why: str, *, every_row: bool = False):
        super().__init__(why)
        self.every_row = every_row


class SystemIgnored(NamedTuple):
    """A row whose `system` column the trainer never reads, and how it trains the row instead."""

    trainer: str  # the trainer, as its users name it ("TRL")
    as_text: bool  # as plain text, without the chat template (else as a conversation)


def template_raised(trainer: str, error: Exception) -> Unprocessable:
    """The chat template raised on a message list only the trainer renders: the trainer fails on the row."""
    return Unprocessable(f"{trainer}'s chat template raised {one_line(error)}")


def replies_not_lists(trainer: str, given: str, how: str) -> Unprocessable:
    """A prompt of messages beside replies `given` otherwise (Pair.replies_given_as), which `how` the trainer
    takes the replies makes it raise on."""
    return Unprocessable(
        f"{trainer} raises on a prompt of messages beside responses given as {given} ({how}): give each response as "
        'a list of messages, [{"role": "assistant", ...}]',
        every_row=True,
    )


def no_eos(trainer: str, why: str) -> Unprocessable:
    """The trainer needs the tokenizer's EOS token, and this tokenizer has none."""
    return Unprocessable(
        f"{trainer} raises on a tokenizer without an EOS token ({why}), and this one has none: set eos_token in "
        "the tokenizer's config",
        every_row=True,
    )


def no_chat_template(trainer: str) -> Unprocessable:
    return Unprocessable(
        f"{trainer} renders conversations with the tokenizer's chat template, and this tokenizer has none: set one "
        "for training, and give preflint the same with --chat-template",
        every_row=True,
    )


@dataclass
class TrainerRow:
    prompt_alone: list[int]  # the prompt tokenized on its own
    chosen: SideInput  # an unpaired (KTO) row's completion
    rejected: SideInput | None  # None for an unpaired row
    dropped: str | None = None  # why the trainer would drop this row before training
    prompt_extracted: bool = False  # the trainer cut the prompt from the two whole dialogues itself (TRL)
    ending: list[int] | None = (
        None  # what the trainer ends each completion with, if not EOS (text) or end of turn (chats)
    )
    failure: Unprocessable | None = None  # the trainer's preprocessing raises on this row (`dropped` says why)
    system_ignored: SystemIgnored | None = None  # the trainer trains the row without its `system` column (M011)
    images: ImageUse | None = None  # a vision row: what the trainer does with its images (V001, V002)

    @classmethod
    def failing(cls, error: Unprocessable) -> TrainerRow:
        """A row the trainer's preprocessing raises on: nothing of it is tokenized."""
        empty = SideInput([], 0, [], 0)
        return cls([], empty, empty, dropped=str(error), failure=error)

    def sides(self):
        if self.rejected is None:
            return (("completion", self.chosen),)
        return (("chosen", self.chosen), ("rejected", self.rejected))


class Profile:
    name: ClassVar[str]
    defaults: ClassVar[TrainerOptions]
    supported: ClassVar[tuple[str, ...]]  # the option names this trainer has
    simulates: ClassVar[tuple[str, str] | None] = None  # (distribution, version) whose preprocessing it transcribes
    places_images: ClassVar[bool] = False  # puts a row's images before the first user message of a text conversation
    # False for a trainer that trains each reply as an example of its own (KTO): it has no pair to pin at ln 2, and
    # its forecast counts examples (preflint.forecast)
    trains_pairs: ClassVar[bool] = True

    def __init__(self, options: TrainerOptions, image_tokens: ImageTokens | None = None):
        self.options = options
        self.image_tokens = image_tokens or ImageTokens.resolve(None, "")

    def simulate(self, batch: PairBatch, tokenizer: Tokenizer) -> list[TrainerRow | None]:
        """Each row as the trainer feeds it: pairs (a sample's pair view too), then unpaired (KTO) rows; a vision
        pair's images as the trainer uses them."""
        rows = self.encode(batch, tokenizer)
        unpaired = [i for i in batch.with_samples() if batch.samples[i].form == "unpaired"]
        if unpaired:
            self.encode_unpaired(batch, unpaired, tokenizer, rows)
        for i in batch.usable():
            if rows[i] is not None and batch.sample(i) is None and is_vision(batch.pairs[i]):
                rows[i].images = image_use(self, batch, i, rows[i], tokenizer)
        return rows

    def refuses_images(self) -> str | None:
        """Why the trainer refuses vision data with these options, if it does (it raises before training)."""
        return None

    def kept_positions(self, prompt: int, chosen: int, rejected: int) -> TrainerRow | None:
        """The row of positions 0, 1, ... of a prompt and its replies of these lengths (images counted as their
        tokens) that the trainer's truncation keeps; None where the profile does not simulate a vision trainer."""
        return None

    def encode(self, batch: PairBatch, tokenizer: Tokenizer) -> list[TrainerRow | None]:
        raise NotImplementedError

    def encode_unpaired(self, batch: PairBatch, positions: list[int], tokenizer: Tokenizer, rows: list) -> None:
        """Unpaired rows into `rows`: a DPO trainer has no use for them, and fails on a dataset of them."""
        failure = Unprocessable(
            f"the {self.name} profile simulates a trainer of pairs (DPO), and this row is unpaired (KTO): check it "
            "with --trainer kto",
            every_row=True,
        )
        for i in positions:
            rows[i] = TrainerRow.failing(failure)

    def column_note(self, fields: Fields) -> str | None:
        """What to say of an input's columns as this trainer reads them: None where its columns are configurable."""
        return None

    def samples_note(self, fields: SampleFields) -> str | None:
        """What to say of an input of labelled pairs or ranked candidates: a trainer of pairs is checked on the
        pairs `fix --binarize` makes of it (unpaired rows it fails on, which its findings say)."""
        if fields.form == "unpaired":
            return None
        return (
            f"the {self.name} profile trains pairs: checked on the pair best-vs-worst makes of each row; write them "
            "with preflint fix --binarize best-vs-worst"
        )

    def version_note(self) -> str | None:
        """A note when another minor version of the simulated trainer is installed here (where people run preflint
        beside their training): its preprocessing may differ from the one simulated."""
        if self.simulates is None:
            return None
        package, simulated = self.simulates
        installed = installed_version(package)
        if installed is None or _minor(installed) == _minor(simulated):
            return None
        return (
            f"{package} {installed} is installed here, but preflint simulates {package} {simulated}'s "
            "preprocessing: where the two differ, findings may not match what your training does"
        )

    def described_options(self) -> dict:
        """The options in force that this trainer has (OpenRLHF truncates, but has no truncation mode to name)."""
        return {key: value for key, value in self.options.describe().items() if key in self.supported}


def installed_version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def _minor(version: str) -> tuple[str, ...]:
    """'1.16.0' -> ('1', '16'): the release a version belongs to."""
    return tuple(re.findall(r"\d+", version)[:2])


def truncate(ids: list[int], prompt_kept: int, max_length: int | None, mode: str) -> tuple[list[int], int]:
    """`ids` (its first `prompt_kept` are prompt) cut to `max_length`: the ids kept and how many are prompt."""
    if max_length is None or len(ids) <= max_length:
        return ids, prompt_kept
    if mode == "keep_start":
        return ids[:max_length], min(prompt_kept, max_length)
    return ids[-max_length:], max(0, prompt_kept - (len(ids) - max_length))


def common_prefix_length(a: list[int], b: list[int]) -> int:
    shorter, longer = (a, b) if len(a) <= len(b) else (b, a)
    if shorter == longer[: len(shorter)]:  # the usual case, compared at C speed
        return len(shorter)
    n = 0
    for x, y in zip(a, b):
        if x != y:
            break
        n += 1
    return n


def side(joint_ids: list[int], completion_start: int, options: TrainerOptions) -> SideInput:
    """Prompt + completion (joined in `joint_ids`) with its completion mask, truncated the way TRL's collator does."""
    return SideInput(
        joint_ids, completion_start, *truncate(joint_ids, completion_start, options.max_length, options.truncation_mode)
    )


def text_joinable(tokenizer: Tokenizer) -> bool:
    """Whether TRL's ids of a text (`as_trl_text`) can be built from the text's own ids: the tokenizer adds the
    same special tokens to every text, and EOS (if any) is an added token, tokenized apart from what is around it."""
    return tokenizer.special_affixes is not None and (tokenizer.separate_eos is not None or not tokenizer.hf.eos_token)


def as_trl_text(tokenizer: Tokenizer, ids: list[int], completion: str | None = None) -> list[int]:
    """`ids` of a prompt, or of a prompt joined with `completion`, made what TRL tokenizes for that text: EOS
    appended to a completion that does not end with it, and the tokenizer's special tokens (Llama 3: BOS) added.
    Changes `ids` in place (give a copy of ids that are shared); needs `text_joinable`."""
    before, after = tokenizer.special_affixes
    eos = tokenizer.separate_eos
    ids[:0] = before
    if completion is not None and eos and not completion.endswith(eos):
        ids += tokenizer.separate_eos_ids
    ids += after
    return ids


def turn_ending(tokenizer: Tokenizer, *, strip: str | None, joiner: str = "") -> list[int]:
    """The ids a trainer ends a rendered reply with when it strips the end of turn (`str.rstrip(strip)`) and adds
    EOS after `joiner` unless the stripped end is EOS already: ChatML's '<|im_end|>\\n' ends as '<|im_end|>'."""
    eos = tokenizer.hf.eos_token or ""
    ending = tokenizer.turn_suffix.rstrip(strip)
    return tokenizer.encode_many([ending if ending.endswith(eos) else ending + joiner + eos])[0]


def profiles() -> dict[str, type[Profile]]:
    from preflint.trainers.axolotl import AxolotlProfile
    from preflint.trainers.kto import KTOProfile
    from preflint.trainers.llamafactory import LlamaFactoryProfile
    from preflint.trainers.openrlhf import OpenRLHFProfile
    from preflint.trainers.plain import PlainProfile
    from preflint.trainers.trl import TRLProfile

    return {
        profile.name: profile
        for profile in (PlainProfile, TRLProfile, KTOProfile, OpenRLHFProfile, LlamaFactoryProfile, AxolotlProfile)
    }


def make_profile(name: str, image_tokens: ImageTokens | None = None, **given: int | str | None) -> Profile:
    """The profile `name` with the trainer's defaults overridden by the options given (None: not given), each image
    taken as `image_tokens`."""
    known = profiles()
    if name not in known:
        raise ConfigError(f"unknown trainer {name!r} (known: {', '.join(known)})")
    profile = known[name]
    given = {key: value for key, value in given.items() if value is not None}
    unsupported = sorted(set(given) - set(profile.supported))
    if unsupported:
        option = unsupported[0].replace("_", "-")
        has = ", ".join("--" + key.replace("_", "-") for key in profile.supported) or "none"
        raise ConfigError(f"trainer {name!r} has no {option} (its options: {has})")
    return profile(replace(profile.defaults, **given), image_tokens)
