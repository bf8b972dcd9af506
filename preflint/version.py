"""preflint's version, as installed (a leaf: every module that names the version imports it from here)."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("preflint")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0.0.0"
