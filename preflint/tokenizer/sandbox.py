"""The sandbox chat templates render in: jinja2's immutable sandbox, which stops a template from reaching Python's
internals, with bounds on what one expression may build. The sandbox bounds `range` but not `'a' * 4000000000`,
`'{:>3000000000}'.format(x)`, `x|center(3000000000)` or `s ~ s` doubled in a loop: a template (a downloaded
tokenizer's) could take all memory with one of them. Each is refused past TEXT_LIMIT characters, and the row's
rendering fails as if the template had raised (S005).

transformers compiles chat templates with the `ImmutableSandboxedEnvironment` its module names; `install` puts this
one in its place, before anything is rendered.
"""

from __future__ import annotations

import re
from collections.abc import Sized

from jinja2.compiler import CodeGenerator
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment

TEXT_LIMIT = 64 << 20  # characters one expression of a template may build (a record is at most 16 MiB)
POWER_LIMIT = 4096  # the largest exponent of `**` (10 ** 4096 is already a number of 4,097 digits)
_WIDE = re.compile(r"\d{8,}")  # a width or precision in a format string: 8 digits are 10 million characters
WIDENING = ("center", "ljust", "rjust", "zfill", "expandtabs", "indent", "wordwrap", "truncate")


def _too_large(what: str) -> SecurityError:
    return SecurityError(f"the chat template builds {what} over {TEXT_LIMIT:,} characters; stopped")


class _BoundedCodeGenerator(CodeGenerator):
    """Template code in which `a ~ b` (string concatenation) is checked as it is built."""

    def visit_Concat(self, node, frame) -> None:
        self.write("environment.checked(")
        super().visit_Concat(node, frame)
        self.write(")")


class BoundedSandbox(ImmutableSandboxedEnvironment):
    intercepted_binops = frozenset(("*", "**", "+", "%"))
    code_generator_class = _BoundedCodeGenerator

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("center", "indent", "format", "wordwrap", "truncate"):
            if name in self.filters:
                self.filters[name] = _bounded(self.filters[name], name)

    def checked(self, value):
        if isinstance(value, Sized) and len(value) > TEXT_LIMIT:
            raise _too_large("a text")
        return value

    def call_binop(self, context, operator: str, left, right):
        if operator == "*":
            for sequence, times in ((left, right), (right, left)):
                if (
                    isinstance(sequence, str | list | tuple)
                    and isinstance(times, int)
                    and len(sequence) * times > TEXT_LIMIT
                ):
                    raise _too_large("a repetition")
        elif operator == "**" and isinstance(right, int | float) and abs(right) > POWER_LIMIT:
            raise SecurityError(f"the chat template raises a number to a power over {POWER_LIMIT:,}; stopped")
        elif operator == "+" and isinstance(left, Sized) and isinstance(right, Sized):
            if len(left) + len(right) > TEXT_LIMIT:
                raise _too_large("a text")
        elif operator == "%" and isinstance(left, str) and _WIDE.search(left):
            raise _too_large("a formatted text")
        return super().call_binop(context, operator, left, right)

    def call(__self, __context, __obj, *args, **kwargs):  # noqa: N805 - jinja2's own signature
        method = getattr(__obj, "__wrapped__", __obj)  # jinja2 wraps str.format in a formatter of its own
        text, name = getattr(method, "__self__", None), getattr(method, "__name__", "")
        if isinstance(text, str) and name in ("format", "format_map") and _WIDE.search(text):
            raise _too_large("a formatted text")
        widths = (arg for arg in (*args, *kwargs.values()) if isinstance(arg, int))
        if isinstance(text, str) and name in WIDENING and any(width > TEXT_LIMIT for width in widths):
            raise _too_large("a padded text")
        return __self.checked(super().call(__context, __obj, *args, **kwargs))


def _bounded(filter_function, name: str):
    """A filter refusing a width past the limit (and, for `format`, a wide format string)."""

    def bounded(*args, **kwargs):
        values = [*args, *kwargs.values()]
        if any(isinstance(value, int) and not isinstance(value, bool) and value > TEXT_LIMIT for value in values):
            raise _too_large(f"a text with {name}")
        if name == "format" and any(isinstance(value, str) and _WIDE.search(value) for value in values[:2]):
            raise _too_large("a formatted text")
        return filter_function(*args, **kwargs)

    for attribute in ("jinja_pass_arg",):  # jinja passes the context or environment to filters marked so
        if hasattr(filter_function, attribute):
            setattr(bounded, attribute, getattr(filter_function, attribute))
    return bounded


def install() -> None:
    """Render every chat template transformers compiles in this sandbox (idempotent)."""
    import transformers.utils.chat_template_utils as chat_templates

    chat_templates.ImmutableSandboxedEnvironment = BoundedSandbox
