"""OpenRLHF's `train_dpo` / `train_rm` command line, from a launch script (or a file of its arguments alone) or as
given after `--`, read as OpenRLHF's own parser reads it: OpenRLHF @3c3be62 (0.11, the version the openrlhf profile
simulates) names its options with dots (`--data.max_len`), earlier versions flat (`--max_len`); both are read, as
the data path did not change between them.

Source: openrlhf/cli/train_dpo.py (and train_rm.py: the same data options; defaults max_len 512, dataset_split
train, chosen_key chosen, rejected_key rejected, no prompt_key; the tokenizer from the model,
`--model.model_name_or_path`, before 0.11 `--pretrain`), openrlhf/datasets/utils.py `blending_datasets` (datasets
separated by commas, each a local data file, a directory, a saved dataset or a hub id, `name@data_dir`; the split
`dataset_split` where the dataset has it; `max_samples` rows of each), openrlhf/datasets/reward_dataset.py
(`preprocess_data`: the keys; with `apply_chat_template` message lists rendered with the tokenizer's chat
template, or `tokenizer_chat_template`; without it, text, its prompt formatted with `input_template`).
"""

from __future__ import annotations

import os
import re
import shlex

from preflint.configs.trainer_config import ConfigDataset, From, InlineTemplate, TrainerConfig, map_text
from preflint.errors import ConfigError

ENTRY = re.compile(r"openrlhf[./]cli[./](?P<script>\w+?)(?:\.py)?$")  # openrlhf.cli.train_dpo, .../train_dpo.py
PAIRED_SCRIPTS = ("train_dpo", "train_rm")
FLAT_NAMES = {  # OpenRLHF 0.11's option names, and the names before it
    "model.model_name_or_path": "pretrain",
    "data.dataset": "dataset",
    "data.dataset_split": "dataset_split",
    "data.dataset_probs": "dataset_probs",
    "data.max_samples": "max_samples",
    "data.prompt_key": "prompt_key",
    "data.chosen_key": "chosen_key",
    "data.rejected_key": "rejected_key",
    "data.input_template": "input_template",
    "data.apply_chat_template": "apply_chat_template",
    "data.tokenizer_chat_template": "tokenizer_chat_template",
    "data.max_len": "max_len",
    "use_ms": "use_ms",
}
FLAGS = {"data.apply_chat_template", "use_ms"}
DEFAULT_MAX_LEN = 512
KEYS = {"prompt": None, "chosen": "chosen", "rejected": "rejected"}  # the columns read by default: no prompt
DATA_FILES = (".json", ".jsonl", ".csv", ".parquet", ".arrow")  # read by blending_datasets as data files


def is_command(tokens: list[str]) -> bool:
    """Whether these tokens hold a command that runs OpenRLHF's trainer (pasted after preflint's `--`)."""
    return any(ENTRY.search(token) for token in tokens)


def command_in(text: str, source: str) -> list[str]:
    """The training command a file holds: the (backslash-continued) line that names openrlhf.cli.train_dpo or
    train_rm, as in OpenRLHF's example scripts, or the whole file when it holds the arguments alone."""
    joined = re.sub(r"\\\r?\n", " ", text)
    for line in joined.splitlines():
        try:
            tokens = shlex.split(line, comments=True)
        except ValueError:  # a quote left open on this line: not the command
            continue
        if is_command(tokens):
            return tokens
    try:
        tokens = shlex.split(joined, comments=True)
    except ValueError as exc:
        raise ConfigError(f"{source}: cannot read it as a command line ({exc})") from None
    if tokens and tokens[0].startswith("--"):
        return tokens
    raise ConfigError(
        f"{source}: cannot tell which trainer it is for: no OpenRLHF command (openrlhf.cli.train_dpo or train_rm) "
        "and not a YAML config of LLaMA-Factory, axolotl or TRL"
    )


def read(command: list[str], source: str) -> TrainerConfig:
    entry = next((index for index, token in enumerate(command) if ENTRY.search(token)), None)
    script = ENTRY.search(command[entry])["script"] if entry is not None else None
    if script is not None and script not in PAIRED_SCRIPTS:
        raise ConfigError(f"{source}: {script}: preflint checks the pairs of OpenRLHF's train_dpo and train_rm")
    options = _options(command[entry + 1 :] if entry is not None else command, source)
    assumptions = []
    if script is None:
        assumptions.append("it names neither train_dpo nor train_rm: read as train_dpo's arguments")
    elif script == "train_rm":
        assumptions.append(
            "train_rm: checked as train_dpo reads pairs (RewardDataset with is_dpo=True): rows whose prompt fills "
            "max_len - 2 tokens are reported dropped (M002), which train_rm keeps"
        )
    settings = {"trainer": From("openrlhf", script or "OpenRLHF's arguments"), "max_length": _max_len(options, source)}
    if "model.model_name_or_path" in options:
        written, model = options["model.model_name_or_path"]
        settings["tokenizer"] = From(model, f"{written} {model}")
    chat = "data.apply_chat_template" in options
    if chat and "data.tokenizer_chat_template" in options:
        written, template = options["data.tokenizer_chat_template"]
        settings["chat_template"] = From(InlineTemplate(template, "tokenizer_chat_template"), written)
    if not chat:
        if "data.input_template" in options:
            raise ConfigError(
                f"{source}: {options['data.input_template'][0]}: OpenRLHF formats each text prompt with it, which "
                "preflint does not simulate"
            )
        assumptions.append(
            "no --apply_chat_template: OpenRLHF tokenizes the columns as text; preflint renders message lists with "
            "the tokenizer's chat template all the same (OpenRLHF would stop on them)"
        )
    columns = {role: options[f"data.{role}_key"][1] for role in KEYS if f"data.{role}_key" in options}
    mapping = {role: column for role, column in {**KEYS, **columns}.items() if column}
    if "prompt" not in mapping:
        assumptions.append(
            "no --prompt_key: OpenRLHF reads no prompt column (its prompt is empty, or with --apply_chat_template the "
            "chosen dialogue but its last message); preflint reads a prompt column where the data has one"
        )
    for name, why in (
        ("data.max_samples", "OpenRLHF trains on each dataset's first {} rows; preflint scans every row"),
        ("data.dataset_probs", "OpenRLHF samples the datasets in these shares ({}); preflint scans every row"),
    ):
        if name in options:
            assumptions.append(f"{options[name][0]}: {why.format(options[name][1])}")
    datasets = _datasets(options, source, From(mapping, f"--map {map_text(mapping)} from the keys"))
    return TrainerConfig(source, "OpenRLHF", settings, datasets, assumptions)


def _options(arguments: list[str], source: str) -> dict[str, tuple[str, str | bool]]:
    """The options preflint reads, by their 0.11 names: each as written (`--max_len`) and its value (True for a
    flag). A token that is no option's value is an error, as it is to OpenRLHF's parser."""
    flat = {old: new for new, old in FLAT_NAMES.items()}
    options: dict[str, tuple[str, str | bool]] = {}
    index = 0
    while index < len(arguments):
        token = arguments[index]
        if not token.startswith("--"):
            raise ConfigError(f"{source}: {token!r} is not an option (OpenRLHF's options start with --)")
        name, equals, value = token[2:].partition("=")
        if not equals:
            takes_value = index + 1 < len(arguments) and not arguments[index + 1].startswith("--")
            value = arguments[index + 1] if takes_value else True
            index += takes_value
        index += 1
        name = flat.get(name, name)
        if name in FLAGS and value is not True:
            raise ConfigError(f"{source}: --{token[2:].partition('=')[0]} takes no value, not {value!r}")
        if name in FLAT_NAMES and name not in FLAGS and value is True:
            raise ConfigError(f"{source}: {token} needs a value")
        if name in FLAT_NAMES:
            options[name] = (token.partition("=")[0], value)
    return options


def _max_len(options: dict, source: str) -> From:
    if "data.max_len" not in options:
        return From(DEFAULT_MAX_LEN, f"OpenRLHF's default max_len ({DEFAULT_MAX_LEN})")
    written, value = options["data.max_len"]
    if not value.isdigit() or int(value) < 1:
        raise ConfigError(f"{source}: {written} must be a positive integer, not {value!r}")
    return From(int(value), f"{written} {value}")


def _datasets(options: dict, source: str, mapping: From) -> list[ConfigDataset]:
    if "data.dataset" not in options:
        raise ConfigError(f"{source}: names no dataset to train on (--data.dataset, before 0.11 --dataset)")
    written, value = options["data.dataset"]
    if "use_ms" in options:
        raise ConfigError(f"{source}: --use_ms: datasets on ModelScope are not read")
    split_option, split = options.get("data.dataset_split", ("OpenRLHF's default dataset_split", "train"))
    datasets = []
    for name in (part.strip() for part in value.split(",")):
        path, _, data_dir = (part.strip() for part in name.partition("@"))
        if not path:
            raise ConfigError(f"{source}: {written} {value!r} names an empty dataset")
        extension = os.path.splitext(path)[1].lower()
        if extension == ".py" or os.path.isfile(os.path.join(path, f"{os.path.basename(path)}.py")):
            raise ConfigError(f"{source}: {written} {name}: a dataset loading script, which preflint does not run")
        reading = {"map": mapping}
        if extension in DATA_FILES:
            spec = path
        else:
            if data_dir and not os.path.isdir(path):
                raise ConfigError(f"{source}: {written} {name}: data_dir of a hub dataset is not read; download it")
            spec = os.path.join(path, data_dir) if data_dir else path
            reading["split"] = From(split, f"{split_option} {split}")
        datasets.append(ConfigDataset(name, (spec,), f"{written} {name}", reading))
    return datasets
