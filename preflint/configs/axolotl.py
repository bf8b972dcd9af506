"""axolotl's YAML config (`axolotl train config.yml`), read as axolotl @067b021 (0.18, the version the axolotl
profile simulates) reads it for preference training.

Source: src/axolotl/utils/schemas/config.py (`sequence_len` 512, `excess_length_strategy` drop), enums.py (`rl`
types; `chat_template` names), utils/config/__init__.py (the tokenizer from `tokenizer_config`, else
`base_model_config`, else `base_model`), core/builders/rl.py (rl dpo and ipo train with DPOTrainer; orpo, simpo,
kto and the online types with other trainers), utils/data/rl.py `_load_split` (each of `datasets` transformed by
its `type`, without which its rows are taken as already rendered prompt/chosen/rejected text; long rows dropped,
truncated or raised on), utils/data/shared.py `load_dataset_with_config` (a local path first, relative to the
directory axolotl runs in, else the hub; a DatasetDict's train split), prompt_strategies/dpo/chat_template.py
(`default` and `argilla_chat`: field_messages, field_chosen, field_rejected, message_property_mappings, roles), and
utils/chat_templates/base.py (`chat_template`: tokenizer_default, jinja with `chat_template_jinja` as text or a
file, or a template shipped with axolotl; a dataset's own chat_template before the config's).
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

from preflint.configs.trainer_config import (
    ConfigDataset,
    Document,
    From,
    InlineTemplate,
    TrainerConfig,
    map_text,
)
from preflint.shapes.pairs import ROLE_NAMES

MARKS = ("base_model", "rl", "sequence_len")  # keys only axolotl's config has
DPO_TYPES = {"dpo", "ipo"}  # trained by DPOTrainer, whose data path the axolotl profile transcribes
OTHER_TYPES = {
    "orpo": "TRL's ORPOTrainer, with axolotl's orpo dataset types",
    "simpo": "TRL's CPOTrainer",
    "kto": "TRL's KTOTrainer, on unpaired examples",
    "grpo": "TRL's GRPOTrainer, on prompts",
    "gdpo": "its GDPO trainer, on prompts",
    "ebft": "its EBFT trainer",
}
DEFAULT_SEQUENCE_LEN = 512
DATASET_TYPES = {  # the types the profile simulates, and what each names the replies' columns
    "chat_template": "default",
    "chat_template.default": "default",
    "chat_template.argilla_chat": "argilla_chat",
}
MESSAGE_KEYS = {"role": ("role", "from"), "content": ("content", "value")}  # the keys preflint reads
DEFAULT_ROLES = {"user": ["user"], "assistant": ["assistant"], "system": ["system"], "tool": ["tool"]}
TOKENIZER_DEFAULT, JINJA, FALLBACK = "tokenizer_default", "jinja", "tokenizer_default_fallback_"
# The templates axolotl ships (src/axolotl/utils/chat_templates/templates/*.jinja, 067b021).
TEMPLATES = frozenset(
    """
    alpaca aya chatml cohere command_a command_a_rag command_a_tool_use deepseek_v2 deepseek_v3 exaone exaone4
    falcon_h1 gemma gemma3 gemma3n gemma4 gemma4_unified jamba llama3 llama3_2_vision llama4 llava metharme
    mistral_v1 mistral_v2v3 mistral_v3_tekken mistral_v7_tekken nemotron_h phi_3 phi_35 phi_4 pixtral qwen2_vl qwen3
    qwen3_5 qwen_25
    """.split()
)


def read(config: Document) -> TrainerConfig:
    rl = config.get("rl", str)
    if rl is None:
        raise config.error("has no rl: axolotl then runs supervised fine-tuning; preflint checks the pairs of rl dpo")
    if rl in OTHER_TYPES:
        raise config.error(
            f"rl {rl}: axolotl trains it with {OTHER_TYPES[rl]}, whose preprocessing preflint does not simulate "
            "(its axolotl profile follows rl dpo and ipo)"
            + ("; scan the dataset itself with --trainer kto for TRL's KTOTrainer" if rl == "kto" else "")
        )
    if rl not in DPO_TYPES:
        raise config.error(f"rl must be one of {', '.join(sorted(DPO_TYPES | set(OTHER_TYPES)))}, not {rl!r}")
    assumptions: list[str] = []
    settings = {"trainer": From("axolotl", f"rl {rl}"), "max_length": _sequence_len(config, assumptions)}
    model_key = next((key for key in ("tokenizer_config", "base_model_config", "base_model") if key in config), None)
    if model_key:
        model = config.get(model_key, str)
        settings["tokenizer"] = From(model, f"{model_key} {model}")
    entries = config.get("datasets", list)
    if not entries:
        raise config.error("names no datasets to train on")
    datasets = [_dataset(config, index, entry, assumptions) for index, entry in enumerate(entries)]
    if config.data.get("val_set_size"):
        assumptions.append(
            f"val_set_size {config.data['val_set_size']}: axolotl holds that share of the rows out for evaluation, "
            "at random; preflint scans every row"
        )
    if config.get("dataset_exact_deduplication", bool, False):
        assumptions.append(
            "dataset_exact_deduplication: axolotl drops exact duplicate rows before training; preflint reports them "
            "(D001) and `preflint fix` drops them"
        )
    templates = [dataset.reading["chat_template"].value for dataset in datasets]
    files = list(dict.fromkeys(template for template in templates if isinstance(template, str)))
    return TrainerConfig(config.source, "axolotl", settings, datasets, assumptions, files)


def _sequence_len(config: Document, assumptions: list[str]) -> From:
    strategy = config.get("excess_length_strategy", str, "drop")
    if strategy == "truncate":
        raise config.error(
            "excess_length_strategy truncate: axolotl then cuts long replies to fit, which preflint does not simulate "
            "(its axolotl profile drops long rows, as axolotl does by default)"
        )
    if strategy == "raise":
        assumptions.append(
            "excess_length_strategy raise: axolotl stops on a row longer than sequence_len; preflint reports each as "
            "dropped (M002)"
        )
    if "sequence_len" not in config:
        return From(DEFAULT_SEQUENCE_LEN, f"axolotl's default sequence_len ({DEFAULT_SEQUENCE_LEN})")
    length = config.get("sequence_len", int)
    return From(length, f"sequence_len {length}")


def _dataset(config: Document, index: int, entry, assumptions: list[str]) -> ConfigDataset:
    key = f"datasets[{index}]"
    dataset, path = config.dataset(key, entry)
    kind = dataset.data.get("type")
    if kind is None:
        raise dataset.error(
            "has no type: axolotl takes its rows as already rendered prompt/chosen/rejected text, which preflint's "
            "axolotl profile does not simulate (it follows the chat_template.default and chat_template.argilla_chat "
            "types)"
        )
    if not isinstance(kind, str) or kind not in DATASET_TYPES:
        raise dataset.error(
            f"type {kind!r} is not simulated: preflint's axolotl profile follows the chat_template.default and "
            "chat_template.argilla_chat types"
        )
    mapping = _mapping(dataset, DATASET_TYPES[kind])
    reading = {
        "map": From(mapping, f"{key}.type {kind}, --map {map_text(mapping)}"),
        "chat_template": _chat_template(config, dataset, key, assumptions),
    }
    if "name" in dataset:
        reading["subset"] = From(dataset.get("name", str), f"{key}.name")
    local = Path(path).exists()
    if "data_files" in dataset:
        if not local:
            raise dataset.error("data_files of a hub dataset are not read; download them and name them in path")
        inputs = tuple(dataset.strings("data_files", dataset.data["data_files"]))
    else:
        inputs = (path,)
        if not Path(path).is_file():  # a file has its one split; a directory or a hub dataset its train split
            reading["split"] = From(dataset.get("split", str, "train"), f"{key}.split")
    return ConfigDataset(path, inputs, f"{key}.path {path}" + ("" if local else " (the hub)"), reading)


def _mapping(dataset: Document, kind: str) -> dict[str, str]:
    """The columns a chat_template type reads, as preflint's --map; its message keys and roles must be ones preflint
    reads the same way."""
    keys = dict(dataset.get("message_property_mappings", dict, {}))
    keys.setdefault("role", dataset.get("message_field_role", str, "role"))  # handle_legacy_message_fields_logic
    keys.setdefault("content", dataset.get("message_field_content", str, "content"))
    for name, readable in MESSAGE_KEYS.items():
        if keys[name] not in readable:
            raise dataset.error(
                f"message_property_mappings.{name} {keys[name]!r}: preflint reads messages whose keys are "
                f"{' or '.join(readable)}; rename the key in the data"
            )
    for target, sources in dataset.get("roles", dict, DEFAULT_ROLES).items():
        for source in sources if isinstance(sources, list) else [sources]:
            read_as = ROLE_NAMES.get(str(source).lower(), source)
            if read_as != ROLE_NAMES.get(target, target):
                raise dataset.error(
                    f"roles.{target} lists {source!r}, which preflint reads as {read_as!r}; rename the role in the data"
                )
    mapping = {
        "chosen": dataset.get("field_chosen", str, "chosen"),
        "rejected": dataset.get("field_rejected", str, "rejected"),
    }
    if kind == "default":  # argilla_chat takes the prompt from the chosen dialogue
        mapping = {"prompt": dataset.get("field_messages", str, "messages"), **mapping}
    return mapping


def _chat_template(config: Document, dataset: Document, key: str, assumptions: list[str]) -> From:
    """`extract_chat_template_args` and `get_chat_template`: the dataset's chat_template (with its jinja), else the
    config's; the tokenizer's own by default."""
    owner, key = (dataset, f"{key}.chat_template") if "chat_template" in dataset else (config, "chat_template")
    choice = owner.get("chat_template", str, TOKENIZER_DEFAULT)
    if choice == TOKENIZER_DEFAULT:
        return From(None, f"{key} {choice}" if "chat_template" in owner else "no chat_template: the tokenizer's own")
    if choice == JINJA:
        jinja = owner.get("chat_template_jinja", str)
        if jinja is None:
            raise owner.error("chat_template jinja needs chat_template_jinja (a template, or a file holding one)")
        if os.path.isfile(jinja):
            return From(jinja, f"chat_template_jinja {jinja}")
        return From(InlineTemplate(jinja, "chat_template_jinja"), "chat_template_jinja (a template in the config)")
    if choice.startswith(FALLBACK):
        assumptions.append(
            f"{key} {choice}: the tokenizer's own chat template is used; axolotl uses its "
            f"{choice.removeprefix(FALLBACK)} template for a tokenizer without one"
        )
        return From(None, f"{key} {choice}")
    if choice not in TEMPLATES:
        raise owner.error(f"chat_template {choice!r}: axolotl has no such template")
    installed = _installed_template(choice)
    if installed:
        return From(installed, f"{key} {choice} (installed axolotl's {installed})")
    assumptions.append(
        f"{key} {choice}: axolotl's {choice} template is not installed here; conversations are rendered with the "
        f"tokenizer's own chat template: give --chat-template with axolotl's "
        f"src/axolotl/utils/chat_templates/templates/{choice}.jinja to render as axolotl will"
    )
    return From(None, f"{key} {choice} (not installed here: the tokenizer's own)")


def _installed_template(name: str) -> str | None:
    """The file of one of axolotl's templates where axolotl is installed (beside the training), found without
    importing it."""
    spec = importlib.util.find_spec("axolotl")
    if spec is None or not spec.submodule_search_locations:
        return None
    for root in spec.submodule_search_locations:
        path = os.path.join(root, "utils", "chat_templates", "templates", f"{name}.jinja")
        if os.path.isfile(path):
            return path
    return None
