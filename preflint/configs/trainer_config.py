"""What a trainer's own config says about the run it launches, in preflint's terms, whichever trainer it is for:
the settings (trainer profile, length limit, truncation mode, tokenizer, chat template), the datasets with how each
is read (column mapping, split, subset, chat template), where the config says each, and what preflint assumes
where it cannot do as the trainer does. `TrainerConfig.resolve` turns it into the inputs and settings of a scan,
under the options given on the command line (or to the Python API), which win.
"""

from __future__ import annotations

import atexit
import os
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from preflint.config import Settings
from preflint.errors import ConfigError
from preflint.io.scratch import scratch_path
from preflint.tokenizer.loading import ALIASES, names_a_path
from preflint.trainers import profiles

READING = {  # how a dataset is read: the setting, what its values are called, and the option that overrides it
    "map": ("column mappings", "--map"),
    "split": ("splits", "--split"),
    "subset": ("subsets", "--subset"),
    "chat_template": ("chat templates", "--chat-template"),
}
TRAINER_OPTIONS = ("max_length", "truncation_mode")  # settings only some trainer profiles have


@dataclass(frozen=True)
class From:
    """A value the config sets, or leaves to the trainer's default, and where it says so ("cutoff_len 1024"). A value
    of None sets nothing: the entry only says what the config means for that setting."""

    value: Any
    where: str


@dataclass(frozen=True)
class InlineTemplate:
    """A chat template written in the config itself (axolotl's chat_template_jinja, OpenRLHF's
    --tokenizer_chat_template) rather than in a file."""

    text: str
    key: str  # the config's key, which names the file it is written to


@dataclass(frozen=True)
class ConfigDataset:
    """One dataset the config trains on: its name there, what preflint reads for it (paths or hub ids), where the
    config names it, and how the trainer reads it (map, split, subset, chat_template)."""

    name: str
    inputs: tuple[str, ...]
    where: str
    reading: Mapping[str, From] = field(default_factory=dict)


@dataclass
class Resolved:
    """A trainer config applied: what to scan, with which settings, and what the report says of them."""

    inputs: list[str]
    settings: Settings
    trainer_config: dict[str, str]  # the config's path and whose it is
    settings_from: dict[str, str]  # setting -> where in the config its value came from, or who gave it
    assumptions: list[str]
    files: list[str]  # files read besides the data (the config, dataset_info.json): never an output

    def annotate(self, summary: dict) -> None:
        """Say in a report's summary where the settings came from and what was assumed."""
        summary["trainer_config"] = self.trainer_config
        summary["settings_from"] = self.settings_from
        if self.assumptions:
            summary["assumptions"] = self.assumptions


@dataclass
class TrainerConfig:
    source: str  # the config file, as named, or "the command after --"
    trainer: str  # as its users name it: "LLaMA-Factory"
    settings: dict[str, From]
    datasets: list[ConfigDataset]
    assumptions: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)  # read besides the config and the data: dataset_info.json

    def resolve(
        self, settings: Settings, given: Mapping[str, Any], data: Sequence[str], given_by: str = "command line"
    ) -> Resolved:
        """The inputs and settings of a scan of this config's run: `settings` (preflint's own config) with the
        trainer config's values on top, except those `given` (the command line's, applied after this; `given_by`
        says who gave them).

        `data`, if any, names datasets of the config (by their names there), or other inputs to read as the
        config's datasets are read."""
        by_name = {dataset.name: dataset for dataset in self.datasets}
        named = [by_name[item] for item in data if item in by_name]
        values = {**self.settings, **self._reading(named or self.datasets, given)}
        trainer = given.get("trainer")
        if trainer in profiles():  # another profile than the config's: its limits only where that profile has them
            supported = profiles()[trainer].supported
            values = {key: value for key, value in values.items() if key not in TRAINER_OPTIONS or key in supported}
        if "tokenizer" not in values and given.get("tokenizer") is None:
            raise ConfigError(f"{self.source} names no model to take the tokenizer from: give --tokenizer")
        if given.get("tokenizer") is None:
            self._check_model(values["tokenizer"])
        applied = {
            key: _written(value.value) if isinstance(value.value, InlineTemplate) else value.value
            for key, value in values.items()
            if value.value is not None and given.get(key) is None
        }
        settings_from = {key: given_by if given.get(key) is not None else value.where for key, value in values.items()}
        others = [item for item in data if item not in by_name]
        settings_from["input"] = "; ".join(
            [dataset.where for dataset in (named if data else self.datasets)] + ([given_by] if others else [])
        )
        if data:
            inputs = [spec for item in data for spec in (by_name[item].inputs if item in by_name else (item,))]
        else:
            inputs = [spec for dataset in self.datasets for spec in dataset.inputs]
        return Resolved(
            inputs=inputs,
            settings=settings.override(**applied),
            trainer_config={"path": self.source, "trainer": self.trainer},
            settings_from=settings_from,
            assumptions=[f"{self.source}: {assumption}" for assumption in dict.fromkeys(self.assumptions)],
            files=[*([self.source] if os.path.isfile(self.source) else []), *self.files],
        )

    def _reading(self, datasets: list[ConfigDataset], given: Mapping[str, Any]) -> dict[str, From]:
        """How the datasets are read, where they agree. One scan reads its inputs alike: datasets the trainer reads
        differently (another column mapping, split or chat template) are scanned one at a time, unless the option is
        given."""
        reading: dict[str, From] = {}
        for key in dict.fromkeys(key for dataset in datasets for key in dataset.reading):
            found = [(dataset.name, dataset.reading[key]) for dataset in datasets if key in dataset.reading]
            if given.get(key) is None and any(value.value != found[0][1].value for _, value in found):
                ways = "; ".join(f"{name}: {value.where}" for name, value in found)
                names = ", ".join(name for name, _ in found)
                what, option = READING[key]
                raise ConfigError(
                    f"{self.source}: its datasets are read with different {what} ({ways}), and one scan reads its "
                    f"inputs alike: name one dataset to scan ({names}), or give {option}"
                )
            reading[key] = found[0][1]
        return reading

    def _check_model(self, model: From) -> None:
        """A tokenizer the config names that cannot be had here is an error now, saying where the config names it:
        a local path that does not exist, or a hub model while the hub is out of reach and not in the local cache."""
        spec = model.value
        if spec.lower() in ALIASES or Path(spec).expanduser().exists():
            return
        if names_a_path(spec):
            raise ConfigError(f"{self.source}: {model.where}: no such directory here: give --tokenizer")
        from preflint.io.hub import out_of_reach

        offline = out_of_reach()
        if offline and not _cached(spec):
            raise ConfigError(
                f"{self.source}: {model.where} is a model on the Hugging Face hub, whose tokenizer cannot be fetched "
                f"({offline}) and is not in the local cache: give --tokenizer (a local copy of the model, or llama "
                "for the Llama 3 vocabulary)"
            )


def _cached(model: str) -> bool:
    """Whether the hub's local cache holds this model's tokenizer."""
    from huggingface_hub import try_to_load_from_cache

    try:
        return any(
            isinstance(try_to_load_from_cache(model, name), str) for name in ("tokenizer.json", "tokenizer_config.json")
        )
    except ValueError:  # not a valid repository id
        return False


def _written(template: InlineTemplate) -> str:
    """A chat template from the config, written to a file (what --chat-template takes) that lives as long as this
    process: a scan's spawned workers read it too."""
    directory = scratch_path("template")
    atexit.register(shutil.rmtree, directory, ignore_errors=True)
    path = os.path.join(directory, f"{template.key}.jinja")
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(template.text)
    return path


class Document:
    """A trainer config's keys, read with their types checked: a wrong one is an error that names the file and the
    key, as the trainer's own parser would refuse it."""

    KINDS = {str: "a string", int: "a positive integer", bool: "true or false", list: "a list", dict: "a mapping"}

    def __init__(self, data: Mapping[str, Any], source: str):
        self.data = data
        self.source = source

    def __contains__(self, key: str) -> bool:
        return self.data.get(key) is not None

    def get(self, key: str, kind: type, default: Any = None) -> Any:
        """`key`'s value (None in YAML, or absent: `default`), checked to be of `kind`."""
        value = self.data.get(key)
        if value is None:
            return default
        return self.checked(key, value, kind)

    def checked(self, key: str, value: Any, kind: type) -> Any:
        if kind is str and isinstance(value, int | float) and not isinstance(value, bool):
            return str(value)  # YAML reads a split named 2024 as a number
        if not isinstance(value, kind) or (kind is int and (isinstance(value, bool) or value < 1)):
            raise self.error(f"{key} must be {self.KINDS[kind]}, not {value!r}")
        return value

    def strings(self, key: str, value: Any) -> list[str]:
        """A value that is a string or a list of them (data_files), as a list."""
        value = [value] if isinstance(value, str) else value
        if not isinstance(value, list) or not value or not all(isinstance(item, str) for item in value):
            raise self.error(f"{key} must be a string or a list of strings, not {value!r}")
        return value

    def dataset(self, key: str, entry: Any) -> tuple[Document, str]:
        """One entry of the config's datasets (`key` names it) as a document of its own, and the path it names."""
        if not isinstance(entry, dict):
            raise self.error(f"{key} must be a mapping")
        dataset = Document(entry, f"{self.source}: {key}")
        path = dataset.get("path", str)
        if path is None:
            raise dataset.error("names no path")
        return dataset, path

    def error(self, message: str) -> ConfigError:
        return ConfigError(f"{self.source}: {message}")


def map_text(mapping: Mapping[str, str]) -> str:
    """A column mapping as --map writes it."""
    return ",".join(f"{key}={column}" for key, column in mapping.items())
