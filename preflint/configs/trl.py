"""A `trl dpo --config` YAML, read as TRL 1.16's `trl dpo` (the version the trl profile simulates) reads it.

Source: trl/scripts/dpo.py (`datasets` before `dataset_name`; DPOTrainer takes the split `dataset_train_split`
and loads the tokenizer from `model_name_or_path`), trl/scripts/utils.py (`TrlParser.parse_args_and_config`: the
YAML's keys set the defaults of ScriptArguments, DPOConfig, ModelConfig and DatasetMixtureConfig;
`DatasetConfig`: path, name, data_dir, data_files, split "train", columns, fraction; `get_dataset`), and
trl/trainer/dpo_config.py (max_length 1024, None for no truncation; truncation_mode keep_start).
"""

from __future__ import annotations

import os

from preflint.configs.trainer_config import ConfigDataset, Document, From, TrainerConfig
from preflint.trainers import TRUNCATION_MODES

MARKS = ("dataset_name", "datasets", "model_name_or_path")  # keys a `trl dpo` config has (LLaMA-Factory's first)
DEFAULT_MAX_LENGTH = 1024
BUILDERS = {"json", "csv", "parquet", "arrow"}  # `datasets` builders that read data_files
NOT_A_FILE = (  # datasets.load_dataset reads a directory or a hub id by its path, a file only through a builder
    "`datasets.load_dataset` takes a dataset directory or a hub id there; name a file as datasets: [{path: json, "
    "data_files: ...}]"
)
OTHER_COMMANDS = {  # keys of other TRL trainers' configs, which DPOConfig does not have
    "desirable_weight": "trl kto",
    "undesirable_weight": "trl kto",
    "reward_funcs": "trl grpo or trl rloo",
    "num_generations": "trl grpo or trl rloo",
    "dataset_text_field": "trl sft",
    "completion_only_loss": "trl sft",
    "assistant_only_loss": "trl sft",
    "center_rewards_coefficient": "trl reward",
}


def read(config: Document) -> TrainerConfig:
    other = next((key for key in OTHER_COMMANDS if key in config.data), None)
    if other:
        raise config.error(
            f"{other} is a key of `{OTHER_COMMANDS[other]}`, not of `trl dpo`: preflint simulates DPOTrainer's "
            "preprocessing"
        )
    assumptions: list[str] = []
    settings = {"trainer": From("trl", "a `trl dpo` config"), "max_length": _max_length(config)}
    mode = config.get("truncation_mode", str)
    if mode is not None and mode not in TRUNCATION_MODES:
        raise config.error(f"truncation_mode must be one of {', '.join(TRUNCATION_MODES)}, not {mode!r}")
    settings["truncation_mode"] = (
        From(mode, f"truncation_mode {mode}") if mode else From("keep_start", "TRL's default truncation_mode")
    )
    for key in ("max_prompt_length", "max_completion_length"):
        if key in config:
            assumptions.append(
                f"{key}: TRL 1.16, whose preprocessing preflint simulates, has no such option and ignores it (TRL "
                "before 0.29 cut prompts or replies to it)"
            )
    if "model_name_or_path" in config:
        model = config.get("model_name_or_path", str)
        settings["tokenizer"] = From(model, f"model_name_or_path {model}")
    if "datasets" in config:
        entries = config.get("datasets", list)
        datasets = [_mixed(config, index, entry, assumptions) for index, entry in enumerate(entries)]
        if "dataset_name" in config:
            assumptions.append("dataset_name: TRL ignores it when datasets is given, and so does preflint")
        if config.data.get("test_split_size"):
            assumptions.append(
                f"test_split_size {config.data['test_split_size']}: TRL holds that share of the rows out for "
                "evaluation, at random; preflint scans every row"
            )
    elif "dataset_name" in config:
        datasets = [_named(config)]
    else:
        raise config.error("names no dataset to train on (dataset_name or datasets)")
    if not datasets:
        raise config.error("datasets is empty: it names no dataset to train on")
    return TrainerConfig(config.source, "TRL", settings, datasets, assumptions)


def _max_length(config: Document) -> From:
    if "max_length" not in config.data:
        return From(DEFAULT_MAX_LENGTH, f"TRL's default max_length ({DEFAULT_MAX_LENGTH})")
    if config.data["max_length"] is None:
        raise config.error(
            "max_length null: TRL then truncates nothing, which preflint's trl profile does not simulate; give "
            "--max-length with a length longer than any row"
        )
    length = config.get("max_length", int)
    return From(length, f"max_length {length}")


def _named(config: Document) -> ConfigDataset:
    """`dataset_name`, loaded whole with `dataset_config` as its subset; its `dataset_train_split` is trained on."""
    name = config.get("dataset_name", str)
    if os.path.isfile(name):
        raise config.error(f"dataset_name {name} is a file, which TRL cannot load: {NOT_A_FILE}")
    split = config.get("dataset_train_split", str, "train")
    reading = {"split": From(split, f"dataset_train_split {split}")}
    if "dataset_config" in config:
        reading["subset"] = From(config.get("dataset_config", str), "dataset_config")
    return ConfigDataset(name, (name,), f"dataset_name {name}", reading)


def _mixed(config: Document, index: int, entry, assumptions: list[str]) -> ConfigDataset:
    """One of `datasets` (a DatasetConfig): a hub id or local path, or a builder (json, csv, ...) with data_files."""
    key = f"datasets[{index}]"
    dataset, path = config.dataset(key, entry)
    split = dataset.get("split", str, "train")
    reading = {}
    local = os.path.exists(path)
    if os.path.isfile(path):
        raise dataset.error(f"path {path} is a file, which TRL cannot load: {NOT_A_FILE}")
    if path not in BUILDERS and not local and ("data_dir" in dataset or "data_files" in dataset):
        raise dataset.error("data_dir and data_files of a hub dataset are not read; download the files")
    if path in BUILDERS and "data_files" not in dataset:
        raise dataset.error(f"path {path} needs data_files")
    directory = "" if path in BUILDERS else os.path.join(path, dataset.get("data_dir", str, ""))
    if "data_files" in dataset:  # relative to the dataset's directory, as load_dataset takes them
        inputs = tuple(os.path.join(directory, file) for file in _data_files(dataset, split))
        where = f"{key}.data_files"
    else:
        inputs = (directory.rstrip(os.sep),)
        where = f"{key}.path {path}" + ("" if local else " (the hub)")
        reading["split"] = From(split, f"{key}.split")
    if "name" in dataset:
        reading["subset"] = From(dataset.get("name", str), f"{key}.name")
    for option, why in (
        ("columns", "TRL keeps only these columns: {}; preflint reads the columns it finds"),
        ("fraction", "TRL keeps the first rows of each dataset in these shares; preflint scans every row ({})"),
    ):
        if dataset.data.get(option) is not None:
            assumptions.append(f"{key}.{option}: {why.format(dataset.data[option])}")
    return ConfigDataset(path, inputs, where, reading)


def _data_files(dataset: Document, split: str) -> list[str]:
    """DatasetConfig's data_files: a file, a list of them, or a mapping of splits to either."""
    files = dataset.data["data_files"]
    if isinstance(files, dict):
        if split not in files:
            raise dataset.error(f"data_files names no files for the split {split}")
        files = files[split]
    return dataset.strings("data_files", files)
