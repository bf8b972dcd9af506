"""Read the run the user will launch from the trainer's own config (`--from-config`), so the scan simulates that run
and not a restatement of it: LLaMA-Factory's and axolotl's YAML, a `trl dpo --config` YAML, OpenRLHF's train_dpo
or train_rm command line (a launch script, or the command after `--`). Which trainer a YAML is for is told by the
keys only its config has. One module per trainer reads its config into a `TrainerConfig`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import yaml

from preflint.configs import axolotl, llamafactory, openrlhf, trl
from preflint.configs.trainer_config import Document, TrainerConfig
from preflint.errors import ConfigError

YAML_READERS = (llamafactory, axolotl, trl)  # in this order: LLaMA-Factory's config has TRL's model_name_or_path too
COMMAND_LINE = "the command after --"


def read_trainer_config(source: str | os.PathLike | Sequence[str]) -> TrainerConfig:
    """The trainer config in a file, or a trainer's command line given as a list of its arguments."""
    if not isinstance(source, str | os.PathLike):
        if not all(isinstance(argument, str) for argument in source):
            raise TypeError("a trainer's command is a list of its arguments, each a string")
        return openrlhf.read(list(source), COMMAND_LINE)
    name = os.fspath(source)
    if os.path.isdir(name):
        raise ConfigError(f"trainer config {name!r} is a directory")
    try:
        with open(name, encoding="utf-8") as handle:
            text = handle.read()
    except FileNotFoundError:
        raise ConfigError(f"trainer config {name!r} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read trainer config {name!r}: {getattr(exc, 'strerror', None) or exc}") from None
    try:
        document, unreadable = yaml.safe_load(text), None
    except yaml.YAMLError as exc:
        document, unreadable = None, exc
    if isinstance(document, dict):
        reader = next((reader for reader in YAML_READERS if any(key in document for key in reader.MARKS)), None)
        if reader is not None:
            return reader.read(Document(document, name))
    if openrlhf.is_command(text.split()) or text.lstrip().startswith("--"):  # a launch script, or its arguments
        return openrlhf.read(openrlhf.command_in(text, name), name)
    if unreadable is not None:
        raise ConfigError(f"{name}: not a YAML config ({' '.join(str(unreadable).split())})")
    if not isinstance(document, dict):
        raise ConfigError(f"{name}: a trainer config is a YAML mapping of its settings")
    raise ConfigError(
        f"{name}: cannot tell which trainer it is for: expected LLaMA-Factory's (stage, dataset, template), "
        "axolotl's (base_model, rl), a `trl dpo` config (model_name_or_path, dataset_name) or OpenRLHF's "
        "train_dpo command"
    )
