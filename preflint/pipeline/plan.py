"""The run plan: what a scan or a fix needs from its settings, resolved once and handed to every part of the run.

Settings say what the user asked for; the plan is what that means here: the rule registry (built-in rules,
installed plugins, the config's local plugin files), the selected rules configured with their options, the trainer
profile, the column mapping, the chat template's text and the tokenizer. Building it checks everything the
settings name, so a bad option is an error before any data is read. The scan, the fix, the cache and the worker
processes take the plan; nothing builds a registry or a profile again. (A worker process that is spawned rather
than forked builds its own from the same settings: rule plugins loaded from files cannot be sent to it.)
"""

from __future__ import annotations

from dataclasses import dataclass

from preflint.config import Settings
from preflint.registry import Registry
from preflint.rule import Rule
from preflint.tokenizer.loading import load_tokenizer
from preflint.tokenizer.templates import read_chat_template
from preflint.tokenizer.wrapper import Tokenizer
from preflint.trainers import Profile, make_profile
from preflint.trainers.images import ImageTokens


def registry_for(settings: Settings) -> Registry:
    """Every rule these settings can name: built in, installed as plugins, and the config's local plugin files
    (found relative to the config file, from whichever directory preflint runs in)."""
    return Registry.load(settings.plugins, settings.base_dir)


@dataclass(eq=False)
class RunPlan:
    settings: Settings
    registry: Registry
    selected: list[type[Rule]]  # the rules that run, in code order
    rules: list[Rule]  # an instance of each, with its options from the settings
    profile: Profile  # the trainer whose preprocessing is simulated
    chat_template: str | None  # the text of --chat-template's file, read once
    given_tokenizer: Tokenizer | None  # a tokenizer given as an object (the Python API), else the settings name one

    @classmethod
    def build(cls, settings: Settings, tokenizer: Tokenizer | None = None) -> RunPlan:
        registry = registry_for(settings)
        selected = registry.select(settings.select, settings.ignore, settings.extend_select)
        return cls(
            settings=settings,
            registry=registry,
            selected=selected,
            rules=[rule(**_options_for(rule, settings, registry)) for rule in selected],
            profile=make_profile(
                settings.trainer,
                max_length=settings.max_length,
                max_prompt_length=settings.max_prompt_length,
                max_completion_length=settings.max_completion_length,
                truncation_mode=settings.truncation_mode,
                image_tokens=ImageTokens.resolve(settings.image_tokens, settings.tokenizer),
            ),
            chat_template=read_chat_template(settings.chat_template) if settings.chat_template else None,
            given_tokenizer=tokenizer,
        )

    @property
    def needs_trainer(self) -> bool:
        """Whether a selected rule reads the pair as the trainer feeds it (only then is the trainer simulated)."""
        return any(rule.needs_trainer for rule in self.selected)

    @property
    def mapping(self) -> dict[str, str]:
        return self.settings.map

    def tokenizer(self) -> Tokenizer:
        """The tokenizer the run uses, with the chat template given for it. Loaded when first asked for in a
        process (a scan's worker processes each ask), once per process."""
        tokenizer = self.given_tokenizer or load_tokenizer(self.settings.tokenizer)
        if self.chat_template is not None:
            tokenizer = tokenizer.with_chat_template(self.chat_template, self.settings.chat_template)
        return tokenizer

    def __reduce__(self):
        """Sent to a spawned worker as its settings (and a tokenizer object given): it builds the plan again."""
        return RunPlan.build, (self.settings, self.given_tokenizer)


def _options_for(rule: type[Rule], settings: Settings, registry: Registry) -> dict:
    """A rule's options from the settings' [rules.<name or code>] tables."""
    options: dict = {}
    for key, values in settings.rules.items():
        if registry.get(key) is rule:
            options.update({name.replace("_", "-"): value for name, value in values.items()})
    return options
