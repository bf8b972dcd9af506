"""Settings from `[tool.preflint]` in pyproject.toml or from preflint.toml; the closest file wins, the CLI overrides.

Keys (kebab-case, as in the TOML):
  tokenizer, chat-template, select, ignore, extend-select, map, split, subset, batch-size, engine, ray-address,
  plugins, trainer, max-length, max-prompt-length, max-completion-length, truncation-mode, image-tokens,
  fixable, unfixable, extend-safe-fixes, extend-unsafe-fixes (which fixes `preflint fix` applies), baseline,
  max-unusable, max-record-mb,
  and per-rule options under [tool.preflint.rules.<rule-name>] (or [rules.<rule-name>] in preflint.toml).
"""

from __future__ import annotations

import glob
import os
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from preflint.errors import ConfigError
from preflint.io.sources import reference_spec
from preflint.shapes.fields import parse_map
from preflint.trainers import TRUNCATION_MODES

DEFAULT_TOKENIZER = "llama"
REFERENCES = "against"  # the rule option that names data read besides the input (D005's test sets)


@dataclass(frozen=True)
class Settings:
    tokenizer: str = DEFAULT_TOKENIZER
    chat_template: str | None = None  # a Jinja file that replaces the tokenizer's chat template
    select: tuple[str, ...] = ("ALL",)
    ignore: tuple[str, ...] = ()
    extend_select: tuple[str, ...] = ()
    map: dict[str, str] = field(default_factory=dict)  # --map: field -> column (its text is parsed)
    split: str | None = None
    subset: str | None = None
    batch_size: int = 1000
    jobs: int | None = None  # worker processes; None: one per core this process may use
    engine: str = "local"  # where a scan's batches run: this machine's processes, or a Ray cluster (preflint[ray])
    ray_address: str | None = None  # the Ray cluster to join (None: $RAY_ADDRESS, else a Ray started for the run)
    cache: bool = True  # reuse the result of an identical earlier scan
    cache_dir: str | None = None  # default: $PREFLINT_CACHE_DIR, else ~/.cache/preflint
    trainer: str = "plain"
    max_length: int | None = None  # None: the trainer's own default
    max_prompt_length: int | None = None
    max_completion_length: int | None = None
    truncation_mode: str | None = None
    image_tokens: int | None = None  # tokens per image (vision pairs); None: known from the tokenizer's name, else 1
    plugins: tuple[str, ...] = ()
    # Which fixes `preflint fix` applies, as in ruff: selectors (codes, prefixes, names, ALL).
    fixable: tuple[str, ...] = ("ALL",)
    unfixable: tuple[str, ...] = ()
    extend_safe_fixes: tuple[str, ...] = ()  # unsafe fixes of these rules are applied without --unsafe-fixes
    extend_unsafe_fixes: tuple[str, ...] = ()  # safe fixes of these rules wait for --unsafe-fixes
    rules: dict[str, dict[str, Any]] = field(default_factory=dict)
    baseline: str | None = None  # the baseline `scan` reports against (and --write-baseline writes)
    # The share of an input's rows that may be records preflint cannot read as pairs (S001-S003, S005) before the
    # input counts as misread (from 5 such rows on): `scan` says so first, and `fix` refuses to write (its safe
    # fixes would drop them).
    max_unusable: float = 0.2
    max_record_mb: int = 8  # a record larger than this is not read: S001 says how large it is
    base_dir: Path = Path(".")  # plugins are found relative to the config file
    source: str = "defaults"  # which file the settings came from

    def __post_init__(self):
        for name in SETTING_NAMES:
            value = getattr(self, name)
            if value is not None or not _OPTIONAL[name]:
                object.__setattr__(self, name, checked(name, value))

    @property
    def references(self) -> list[str]:
        """Inputs the rules read besides the data (the `against` option: a test set for D005), as given, without
        the split a reference may name (`org/evals[test]`): the files read."""
        against = [options.get(REFERENCES) for options in self.rules.values() if isinstance(options, dict)]
        # a value of the wrong type is left out: the rule says what is wrong with it when it is built
        return [
            reference_spec(spec)[0]
            for specs in against
            if isinstance(specs, list)
            for spec in specs
            if isinstance(spec, str)
        ]

    def with_rule_options(self, rule: str, **options: Any) -> Settings:
        """These settings with options set for one rule (named as in [rules.<name>])."""
        return replace(self, rules={**self.rules, rule: {**self.rules.get(rule, {}), **options}})

    def override(self, **changes: Any) -> Settings:
        """Apply CLI values; None means "not given on the command line"."""
        return replace(self, **{key: value for key, value in changes.items() if value is not None})


SETTING_NAMES = tuple(f.name for f in fields(Settings) if f.name not in ("base_dir", "source"))  # what users set
_KEYS = {name.replace("_", "-"): name for name in SETTING_NAMES}
_TYPES = {f.name: f.type.removesuffix(" | None") for f in fields(Settings)}  # annotations, as text
_OPTIONAL = {f.name: f.type.endswith(" | None") for f in fields(Settings)}
CHOICES = {"truncation_mode": TRUNCATION_MODES, "engine": ("local", "ray")}


def checked(name: str, value: Any) -> Any:
    """A setting's value checked against the type its field declares, and its range: the one place settings are
    validated, whether they come from a config file, the command line or the Python API. A lone string is a list
    of one where a list is expected; a list becomes a tuple."""
    key, kind = name.replace("_", "-"), _TYPES[name]
    if kind == "tuple[str, ...]":
        value = [value] if isinstance(value, str) else value
        if not isinstance(value, list | tuple) or not all(isinstance(item, str) for item in value):
            raise ConfigError(f"{key} must be a list of strings")
        return tuple(value)
    if kind == "int" and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
        raise ConfigError(f"{key} must be a positive integer")
    if kind == "float" and (not isinstance(value, int | float) or isinstance(value, bool) or not 0 <= value <= 1):
        raise ConfigError(f"{key} must be a number from 0 to 1")
    if kind == "bool" and not isinstance(value, bool):
        raise ConfigError(f"{key} must be true or false")
    if kind == "str" and not isinstance(value, str):
        raise ConfigError(f"{key} must be a string")
    if name == "map" and isinstance(value, str):  # the command line's prompt=question,chosen=response_j
        return parse_map(value)
    if kind.startswith("dict") and not isinstance(value, dict):
        raise ConfigError(f"{key} must be a table")
    if name == "map" and (column := next((c for c, source in value.items() if not isinstance(source, str)), None)):
        raise ConfigError(f"map.{column} must be a string (the column that holds it)")
    if name == "map":
        return parse_map(value)
    if name == "rules" and (rule := next((r for r, options in value.items() if not isinstance(options, dict)), None)):
        raise ConfigError(f"rules.{rule} must be a table of the rule's options")
    if name in CHOICES and value not in CHOICES[name]:
        raise ConfigError(f"{key} must be one of {', '.join(CHOICES[name])}")
    return value


def find_config(start: Path) -> Path | None:
    """The closest preflint.toml, or pyproject.toml with a [tool.preflint] table, from `start` upwards."""
    for directory in [start, *start.parents]:
        own = directory / "preflint.toml"
        if own.is_file():
            return own
        pyproject = directory / "pyproject.toml"
        if pyproject.is_file() and "preflint" in _read_toml(pyproject).get("tool", {}):
            return pyproject
    return None


def load_settings(path: Path | None = None, *, start: Path | None = None) -> Settings:
    if path is None:
        path = find_config((start or Path.cwd()).resolve())
        if path is None:
            return Settings()
    elif not path.exists():
        raise ConfigError(f"config file {str(path)!r} does not exist")
    elif path.is_dir():  # a pipe (`--config <(...)`) is read like a file
        raise ConfigError(f"config file {str(path)!r} is a directory")
    data = _read_toml(path)
    if path.name == "pyproject.toml":
        data = data.get("tool", {}).get("preflint", {})
    values: dict[str, Any] = {}
    for key, value in data.items():
        if key not in _KEYS:
            raise ConfigError(f"{path}: unknown key {key!r} (known: {', '.join(sorted(_KEYS))})")
        name = _KEYS[key]
        try:
            value = checked(name, value)
        except ConfigError as exc:
            raise ConfigError(f"{path}: {exc}") from None
        values[name] = _relative_to(path.parent, name, value)
    return Settings(**values, base_dir=path.parent, source=str(path))


def _relative_to(directory: Path, name: str, value: Any) -> Any:
    """Paths in a config file are relative to the file, as in ruff, so a scan from a subdirectory reads the same
    files: the cache directory, a chat template, a tokenizer written as a path (with a "/" or a leading "."), and
    reference sets (`against`). A name that matches nothing there (a hub id) stays as written."""
    if name == "cache_dir":
        return str(directory / os.path.expanduser(value))
    if name == "tokenizer" and ("/" in value or value.startswith(".")):
        return _existing(directory, value)
    if name in ("chat_template", "baseline"):
        return os.path.relpath(directory / os.path.expanduser(value))
    if name == "rules":
        return {
            rule: {**options, REFERENCES: [_existing(directory, spec) for spec in options[REFERENCES]]}
            if isinstance(options, dict) and isinstance(options.get(REFERENCES), list)
            else options
            for rule, options in value.items()
        }
    return value


def _existing(directory: Path, spec: Any) -> Any:
    """`spec` as a path relative to `directory` (as seen from here) where it names a file or a glob's matches there,
    with the split it names, if any (`evals[test]`)."""
    if not isinstance(spec, str):
        return spec  # the rule reports the wrong type
    there, split = reference_spec(str(directory / os.path.expanduser(spec)))
    found = glob.glob(there) if glob.has_magic(there) else os.path.exists(there)
    return os.path.relpath(there) + (f"[{split}]" if split else "") if found else spec


def _read_toml(path: Path) -> dict:
    try:
        with open(path, "rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML ({exc})") from exc
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from exc


def default_cache_dir() -> Path:
    """Where scan results and converted tokenizers are cached: $PREFLINT_CACHE_DIR, else the XDG cache."""
    root = os.environ.get("PREFLINT_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "preflint"
    )
    return Path(root)
