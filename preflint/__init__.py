"""preflint: lint and repair preference datasets with the target model's own tokenizer."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("preflint")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0.0.0"
