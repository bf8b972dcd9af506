"""Find rules (built in, installed plugins, local modules) and select them the way ruff does."""

from __future__ import annotations

import difflib
import importlib
import importlib.util
import inspect
import pkgutil
import re
from collections.abc import Iterable, Sequence
from importlib.metadata import entry_points
from pathlib import Path
from types import ModuleType

from preflint.defects import Defect
from preflint.errors import ConfigError, one_line
from preflint.rule import DatasetRule, DefectRule, RowRule, Rule

ENTRY_POINT_GROUP = "preflint.rules"
CODE = re.compile(r"^[A-Z]+[0-9]{3}$")
_BASES = (Rule, RowRule, DatasetRule, DefectRule)


class Registry:
    def __init__(self, rules: Iterable[type[Rule]]):
        self.rules: dict[str, type[Rule]] = {}
        for rule in rules:
            if not CODE.match(getattr(rule, "code", "")):
                raise ConfigError(f"rule {rule.__qualname__} has no valid code (like 'X123')")
            if rule.code in self.rules and self.rules[rule.code] is not rule:
                raise ConfigError(
                    f"two rules claim code {rule.code}: {self.rules[rule.code].__module__} and {rule.__module__}"
                )
            self.rules[rule.code] = rule

    @classmethod
    def load(cls, plugins: Sequence[str] = (), base_dir: Path | None = None) -> Registry:
        import preflint.rules as builtin

        rules = _rules_in_package(builtin)
        for entry_point in entry_points(group=ENTRY_POINT_GROUP):
            try:
                rules += _rules_in(entry_point.load())
            except Exception as exc:  # a broken plugin must not take the CLI down with a traceback
                raise ConfigError(f"cannot load rule plugin {entry_point.name!r}: {one_line(exc)}") from exc
        for plugin in plugins:
            rules += _rules_in(_import_file(Path(base_dir or ".") / plugin))
        return cls(sorted(rules, key=lambda rule: rule.code))

    def __iter__(self):
        return iter(self.rules.values())

    def get(self, selector: str) -> type[Rule]:
        matches = self._match(selector)
        if len(matches) != 1:
            raise ConfigError(f"no rule {selector!r}{self._suggestion(selector)} (see `preflint rules`)")
        return matches[0]

    def reporting(self, defect: Defect) -> type[DefectRule]:
        """The rule that reports records with this kind of defect."""
        return next(rule for rule in self.rules.values() if issubclass(rule, DefectRule) and rule.defect is defect)

    def select(
        self, select: Sequence[str] = ("ALL",), ignore: Sequence[str] = (), extend_select: Sequence[str] = ()
    ) -> list[type[Rule]]:
        chosen = {rule.code for selector in [*select, *extend_select] for rule in self._checked(selector)}
        dropped = {rule.code for selector in ignore for rule in self._checked(selector)}
        return [rule for code, rule in self.rules.items() if code in chosen - dropped]

    def _checked(self, selector: str) -> list[type[Rule]]:
        matches = self._match(selector)
        if not matches:
            raise ConfigError(
                f"unknown rule selector {selector!r}{self._suggestion(selector)} (a code, a code prefix, a rule "
                "name, or ALL)"
            )
        return matches

    def _suggestion(self, selector: str) -> str:
        """ "; did you mean empty-response?" for a mistyped code or name, or nothing."""
        known = [*self.rules, *(rule.name for rule in self.rules.values())]
        close = difflib.get_close_matches(selector.strip(), known, n=1, cutoff=0.75)
        return f"; did you mean {close[0]}?" if close else ""

    def _match(self, selector: str) -> list[type[Rule]]:
        selector = selector.strip()
        if selector.upper() == "ALL":
            return list(self.rules.values())
        by_name = [rule for rule in self.rules.values() if rule.name == selector]
        return by_name or [rule for code, rule in self.rules.items() if code.startswith(selector.upper())]


def _rules_in_package(package: ModuleType) -> list[type[Rule]]:
    rules: list[type[Rule]] = []
    for info in pkgutil.iter_modules(package.__path__):
        rules += _rules_in(importlib.import_module(f"{package.__name__}.{info.name}"))
    return rules


def _rules_in(obj) -> list[type[Rule]]:
    """A plugin names a rule class or a module of them."""
    if inspect.isclass(obj) and issubclass(obj, Rule):
        return [obj]
    if inspect.ismodule(obj):
        return [
            value
            for value in vars(obj).values()
            if inspect.isclass(value) and issubclass(value, Rule) and value not in _BASES and "code" in vars(value)
        ]
    raise ConfigError(f"{obj!r} is neither a rule class nor a module of rules")


def _import_file(path: Path) -> ModuleType:
    """A dataset repository's own rules, named in its config (the user's code, not the data's)."""
    if not path.is_file():
        raise ConfigError(f"rule plugin {str(path)!r} does not exist")
    spec = importlib.util.spec_from_file_location(f"preflint_local_{path.stem}", path)
    if spec is None:  # Python imports only a .py (or compiled) file
        raise ConfigError(f"rule plugin {str(path)!r} is not a Python file (.py)")
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        raise ConfigError(f"cannot import rule plugin {str(path)!r}: {one_line(exc)}") from exc
    return module
