"""One exception root: every error preflint reports to a user as a one-line message with exit code 2."""


class PreflintError(Exception):
    """Something the user can act on: bad input, bad config, an unknown tokenizer."""


class InputError(PreflintError):
    """The data cannot be read at all (missing file, unknown format, no records)."""


class ConfigError(PreflintError):
    """The command line or a config file asks for something that does not exist."""


class TokenizerError(PreflintError):
    """The tokenizer cannot be resolved or loaded."""


class TemplateError(PreflintError):
    """A chat template raised on a conversation. Templates are untrusted code: on a row, a finding, never a crash."""


class RuleError(PreflintError):
    """A rule failed while running: a bug in it (a plugin's, or preflint's own)."""


class OutputError(PreflintError):
    """An output cannot be written as asked (it exists, it is an input, its format is unknown)."""


MESSAGE_CHARACTERS = 400  # of a third-party message shown in one of ours


def one_line(exc: BaseException) -> str:
    """A third-party exception's message for a user, on one line: whitespace and line breaks collapsed (libraries
    write messages of several lines, whose first stops mid-sentence), cut after MESSAGE_CHARACTERS."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= MESSAGE_CHARACTERS else text[:MESSAGE_CHARACTERS] + "…"
