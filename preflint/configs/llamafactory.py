"""LLaMA-Factory's training YAML (`llamafactory-cli train config.yaml`) with its `dataset_info.json`, read as
LLaMA-Factory @ff6d4d1 (0.9.6, the version the llamafactory profile simulates) reads them.

Source: src/llamafactory/hparams/finetuning_args.py (`stage`, default sft), data_args.py (`dataset` names separated
by commas; `dataset_dir` "data"; `cutoff_len` 2048, one less with `packing`), data/parser.py `get_dataset_list`
and `DatasetAttr.join` (dataset_info.json in dataset_dir, a path relative to the directory LLaMA-Factory runs in;
hf_hub_url before file_name; `columns` given replace every column's default, `tags` every tag's),
data/loader.py (`_get_merged_dataset`: stages dpo and rm load their data as stage "rm", which refuses datasets
without `ranking: true`; a file_name is a file or a directory of files under dataset_dir; `max_samples` keeps each
dataset's first rows), data/converter.py (alpaca: the prompt column, then the query column on a new line, and
`history` as earlier turns; sharegpt and openai: the messages column, roles named by the tags), data/template.py
(`get_template_and_fix_tokenizer`: no template, one parsed from the tokenizer's chat template; a name it has not
registered, an error).
"""

from __future__ import annotations

import json
import os

from preflint.configs.trainer_config import ConfigDataset, Document, From, TrainerConfig, map_text
from preflint.shapes.fields import HISTORY
from preflint.shapes.pairs import ROLE_NAMES

MARKS = ("stage", "template", "cutoff_len", "dataset", "dataset_dir", "train_dataset")  # only LLaMA-Factory has them
STAGES = {"dpo", "rm"}  # the stages that train on pairs, through the pairwise processor the profile transcribes
UNPAIRED_STAGES = {
    "sft": "supervised examples",
    "pt": "plain text",
    "ppo": "prompts",
    "kto": "unpaired examples (KTO)",
}
KTO_HINT = (
    " (its feedback processor is not simulated: scan the dataset itself with --trainer kto for TRL's KTOTrainer, "
    "whose checks of unpaired rows apply)"
)
DEFAULT_CUTOFF_LEN = 2048
DATA_CONFIG = "dataset_info.json"
FORMATTINGS = ("alpaca", "sharegpt", "openai")
COLUMN_DEFAULTS = {  # DatasetAttr's, used only where dataset_info.json gives no `columns` at all
    "prompt": "instruction",
    "query": "input",
    "history": None,
    "messages": "conversations",
    "system": None,
    "tools": None,
    "chosen": None,
    "rejected": None,
    "images": None,
    "videos": None,
    "audios": None,
}
MEDIA_COLUMNS = ("images", "videos", "audios")
TAG_DEFAULTS = {
    "role_tag": "from",
    "content_tag": "value",
    "user_tag": "human",
    "assistant_tag": "gpt",
    "observation_tag": "observation",
    "function_tag": "function_call",
    "system_tag": "system",
}
TAG_ROLES = {  # the role LLaMA-Factory gives each tag, as preflint names it
    "user_tag": "user",
    "assistant_tag": "assistant",
    "observation_tag": "tool",
    "function_tag": "assistant",
    "system_tag": "system",
}
MESSAGE_KEYS = {"role_tag": ("role", "from"), "content_tag": ("content", "value")}  # the keys preflint reads
# Every template data/template.py registers (ff6d4d1): another name is an error in LLaMA-Factory too.
TEMPLATES = frozenset(
    """
    aeva alpaca bailing bailing_v2 breeze chatglm3 chatml chatml_de cohere cpm4 dbrx deepseek deepseek3
    deepseekcoder deepseekr1 default dots_ocr empty ernie ernie_nothink ernie_vl exaone falcon falcon_h1 fewshot
    gemma gemma2 gemma3 gemma3n gemma4 gemma4n glm4 glm4_5v glm4_7 glm4_moe glm4v glm_ocr glmz1 gpt_oss granite3
    granite3_vision granite4 hunyuan hunyuan_small hy3 hy_dense_1_8b hy_dense_7b index intern2 intern_s1 intern_vl
    keye_vl kimi_vl lfm2 lfm2_vl llama2 llama2_zh llama3 llama4 llava llava_next llava_next_llama3
    llava_next_mistral llava_next_qwen llava_next_video llava_next_video_mistral llava_next_video_yi llava_next_yi
    mimo mimo_v2 mimo_vl minicpm_o minicpm_v minicpm_v_4_6 minimax1 minimax2 ministral ministral3 mistral
    mistral_small mllama moonlight moss_vl olmo openchat openchat-3.6 opencoder paligemma paligemma_chat phi phi4
    phi4_mini phi_small pixtral qwen qwen2_audio qwen2_omni qwen2_vl qwen3 qwen3_5 qwen3_5_nothink qwen3_6
    qwen3_nothink qwen3_omni qwen3_omni_nothink qwen3_vl qwen3_vl_nothink sailor seed_coder seed_oss smollm smollm2
    solar starchat telechat2 vicuna video_llava xuanyuan yi yi_vl youtu youtu_vl yuan zephyr
    """.split()
)
TRANSCRIBED_TEMPLATE = "llama3"  # the one template the llamafactory profile transcribes


def read(config: Document) -> TrainerConfig:
    if "train_dataset" in config and "dataset" not in config:
        raise config.error(
            "a LLaMA-Factory v1 config (train_dataset): preflint reads the training YAML of LLaMA-Factory 0.9, whose "
            "pairwise preprocessing it simulates (stage, dataset, dataset_info.json)"
        )
    stage = config.get("stage", str, "sft")
    if stage in UNPAIRED_STAGES:
        raise config.error(
            f"stage {stage}: LLaMA-Factory then trains on {UNPAIRED_STAGES[stage]}, not pairs; preflint checks the "
            "pairs of stages dpo and rm" + (KTO_HINT if stage == "kto" else "")
        )
    if stage not in STAGES:
        raise config.error(f"stage must be one of pt, sft, rm, ppo, dpo, kto, not {stage!r}")
    assumptions: list[str] = []
    settings = {
        "trainer": From("llamafactory", f"stage {stage}"),
        "max_length": _cutoff_len(config),
        **_template(config, assumptions),
    }
    if "model_name_or_path" in config:
        model = config.get("model_name_or_path", str)
        settings["tokenizer"] = From(model, f"model_name_or_path {model}")
    info_path, datasets = _datasets(config, assumptions)
    for key, why in (
        ("max_samples", "LLaMA-Factory trains on each dataset's first {} rows; preflint scans every row"),
        ("val_size", "LLaMA-Factory holds {} of the rows out for evaluation, at random; preflint scans every row"),
        ("default_system", "LLaMA-Factory adds this system prompt ({!r}) to rows without one; preflint does not"),
        ("tool_format", "LLaMA-Factory formats tools as {}; preflint renders them with the chat template"),
    ):
        if config.data.get(key):
            assumptions.append(f"{key}: {why.format(config.data[key])}")
    if config.get("mix_strategy", str, "concat") != "concat":
        assumptions.append(
            f"mix_strategy {config.data['mix_strategy']}: LLaMA-Factory interleaves samples of the datasets; "
            "preflint scans every row of each, one dataset after the other"
        )
    return TrainerConfig(config.source, "LLaMA-Factory", settings, datasets, assumptions, [info_path])


def _cutoff_len(config: Document) -> From:
    if "cutoff_len" not in config:
        cutoff, where = DEFAULT_CUTOFF_LEN, f"LLaMA-Factory's default cutoff_len ({DEFAULT_CUTOFF_LEN})"
    else:
        cutoff = config.get("cutoff_len", int)
        where = f"cutoff_len {cutoff}"
    packing = next((key for key in ("packing", "neat_packing") if config.get(key, bool, False)), None)
    if packing:  # DataArguments.__post_init__
        return From(cutoff - 1, f"{where}, less 1 for {packing}")
    return From(cutoff, where)


def _template(config: Document, assumptions: list[str]) -> dict[str, From]:
    """What the config's template means for the chat template: the profile transcribes LLaMA-Factory's llama3
    template (for a Llama 3 vocabulary) and renders with the tokenizer's chat template otherwise."""
    template = config.get("template", str)
    if template is None:
        assumptions.append(
            "no template: LLaMA-Factory builds one from the tokenizer's chat template; preflint renders with that "
            "chat template (with a Llama 3 vocabulary, LLaMA-Factory's llama3 template)"
        )
        return {}
    if template not in TEMPLATES:
        raise config.error(
            f"template {template!r}: LLaMA-Factory has no such template (it stops: 'Template does not exist')"
        )
    if template == TRANSCRIBED_TEMPLATE:
        return {"chat_template": From(None, f"template {template}, transcribed in the llamafactory profile")}
    assumptions.append(
        f"template {template}: LLaMA-Factory's {template} template is not transcribed in preflint; conversations are "
        "rendered with the tokenizer's chat template (with a Llama 3 vocabulary, LLaMA-Factory's llama3): give "
        f"--chat-template with a Jinja template that renders as {template} does where they differ"
    )
    return {}


def _datasets(config: Document, assumptions: list[str]) -> tuple[str, list[ConfigDataset]]:
    """dataset_info.json's path, and each dataset the config trains on."""
    names = config.data.get("dataset")
    names = [name.strip() for name in names.split(",")] if isinstance(names, str) else names  # as split_arg does
    if not isinstance(names, list) or not names or not all(isinstance(name, str) and name for name in names):
        raise config.error("names no dataset to train on (dataset)")
    dataset_dir = config.get("dataset_dir", str, "data")
    if dataset_dir == "ONLINE":
        raise config.error(
            "dataset_dir ONLINE: LLaMA-Factory reads each dataset from the hub without `ranking: true`, and stages dpo "
            "and rm refuse such a dataset ('The dataset is not applicable in the current training stage')"
        )
    if dataset_dir.startswith("REMOTE:"):
        raise config.error(
            f"dataset_dir {dataset_dir}: a {DATA_CONFIG} on the hub is not read; download it and set dataset_dir"
        )
    info_path = os.path.join(dataset_dir, DATA_CONFIG)
    info = _dataset_info(config, info_path, dataset_dir)
    datasets = []
    for name in names:
        if name not in info:
            raise config.error(f"dataset {name!r} is not in {info_path} (LLaMA-Factory stops: 'Undefined dataset')")
        if not isinstance(info[name], dict):
            raise config.error(f"{info_path}: {name} must be a mapping")
        datasets.append(_dataset(name, Document(info[name], f"{info_path}: {name}"), dataset_dir, assumptions))
    return info_path, datasets


def _dataset_info(config: Document, path: str, dataset_dir: str) -> dict:
    try:
        with open(path, encoding="utf-8") as handle:
            info = json.load(handle)
    except FileNotFoundError:
        raise config.error(
            f"no {path} here: LLaMA-Factory reads dataset_dir {dataset_dir!r} from the directory it runs in; run "
            "preflint where you run llamafactory-cli"
        ) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise config.error(f"cannot read {path}: {getattr(exc, 'strerror', None) or exc}") from None
    if not isinstance(info, dict):
        raise config.error(f"{path} must hold a mapping of dataset names to their descriptions")
    return info


def _dataset(name: str, entry: Document, dataset_dir: str, assumptions: list[str]) -> ConfigDataset:
    info_path = os.path.join(dataset_dir, DATA_CONFIG)
    if not entry.get("ranking", bool, False):
        raise entry.error(
            "no `ranking: true`: stages dpo and rm refuse a dataset that is not a preference dataset (LLaMA-Factory "
            "stops: 'The dataset is not applicable in the current training stage')"
        )
    for key, where in (("ms_hub_url", "ModelScope"), ("om_hub_url", "Modelers"), ("script_url", "a loading script")):
        if key in entry and "hf_hub_url" not in entry:
            raise entry.error(f"{key}: the dataset is read from {where}, which preflint does not read")
    if "cloud_file_name" in entry:
        raise entry.error("cloud_file_name: a file in cloud storage is not read; download it and name it in file_name")
    reading: dict[str, From] = {}
    if "hf_hub_url" in entry:
        if "folder" in entry:
            raise entry.error("folder: a folder of a hub dataset is not read; download it and name it in file_name")
        inputs = (entry.get("hf_hub_url", str),)
        where = f"dataset {name}, hf_hub_url {inputs[0]} in {info_path}"
        reading["split"] = From(entry.get("split", str, "train"), f"{name}'s split in {info_path}")
        if "subset" in entry:
            reading["subset"] = From(entry.get("subset", str), f"{name}'s subset in {info_path}")
    elif "file_name" in entry:
        inputs = (_local_data(entry, dataset_dir),)
        where = f"dataset {name}, file_name {entry.get('file_name', str)} in {info_path}"
    else:
        raise entry.error("names no file_name or hf_hub_url to read")
    if "num_samples" in entry:
        assumptions.append(
            f"{name}: num_samples {entry.data['num_samples']}: LLaMA-Factory samples that many rows at random; "
            "preflint scans every row"
        )
    columns = _joined(entry, "columns", COLUMN_DEFAULTS)
    if media := [key for key in MEDIA_COLUMNS if key != "images" and columns.get(key)]:
        assumptions.append(
            f"{name}: columns {', '.join(media)}: videos and audio are not checked (images are: the V rules)"
        )
    mapping = _mapping(entry, columns)
    reading["map"] = From(mapping, f"{name}'s columns in {info_path}, --map {map_text(mapping)}")
    return ConfigDataset(name, inputs, where, reading)


def _local_data(entry: Document, dataset_dir: str) -> str:
    """loader.py `_load_single_dataset`: a file under dataset_dir, or each file of a directory there."""
    path = os.path.join(dataset_dir, entry.get("file_name", str))
    if os.path.isdir(path):
        return os.path.join(path, "*")
    if not os.path.isfile(path):
        raise entry.error(f"no file {path} (LLaMA-Factory stops: 'File not found')")
    return path


def _joined(entry: Document, group: str, defaults: dict[str, str | None]) -> dict[str, str | None]:
    """`DatasetAttr.join`: with `group` (columns, tags) given, every name it leaves out is None; without it, the
    defaults hold."""
    if group not in entry:
        return dict(defaults)
    given = entry.get(group, dict)
    return {key: entry.checked(f"{group}.{key}", given[key], str) if given.get(key) else None for key in defaults}


def _mapping(entry: Document, columns: dict[str, str | None]) -> dict[str, str]:
    """The converter's columns as preflint's --map: which hold the prompt, the replies, the system prompt, tools."""
    formatting = entry.get("formatting", str, "alpaca")
    if formatting not in FORMATTINGS:
        raise entry.error(f"formatting must be one of {', '.join(FORMATTINGS)}, not {formatting!r}")
    missing = [key for key in ("chosen", "rejected") if not columns[key]]
    if missing:
        raise entry.error(
            f"names no {' or '.join(missing)} column: a preference dataset needs columns.chosen and columns.rejected"
        )
    if formatting == "alpaca":
        prompt = "+".join(column for column in (columns["prompt"], columns["query"]) if column)
        if columns["history"] not in (None, HISTORY):
            raise entry.error(
                f"columns.history {columns['history']!r}: preflint reads earlier turns from a column named "
                f"{HISTORY!r} only; rename the column"
            )
    else:
        prompt = columns["messages"]
        if not prompt:
            raise entry.error(f"names no messages column: {formatting} data needs columns.messages")
        _check_tags(entry)
    mapping = {"prompt": prompt} if prompt else {}
    mapping |= {key: columns[key] for key in ("chosen", "rejected", "system", "tools", "images") if columns.get(key)}
    return mapping


def _check_tags(entry: Document) -> None:
    """The message keys and role names the tags give must be ones preflint reads the same way."""
    tags = _joined(entry, "tags", TAG_DEFAULTS)
    for key, readable in MESSAGE_KEYS.items():
        if tags[key] is not None and tags[key] not in readable:
            raise entry.error(
                f"tags.{key} {tags[key]!r}: preflint reads messages whose keys are {' or '.join(readable)}; rename "
                "the key in the data"
            )
    for key, role in TAG_ROLES.items():
        if tags[key] is not None and ROLE_NAMES.get(tags[key].lower(), tags[key]) != role:
            raise entry.error(
                f"tags.{key} {tags[key]!r}: LLaMA-Factory reads it as the {role} role, preflint as "
                f"{ROLE_NAMES.get(tags[key].lower(), tags[key])!r}; rename the role in the data"
            )
