"""Scratch directories: each named after the process that made it, so what a killed run left behind (`kill -9`
allows no clean-up) is found and removed by the next run."""

from __future__ import annotations

import os
import re
import shutil
import tempfile

PREFIX = "preflint-"
_OWNED = re.compile(rf"^{PREFIX}(?:[a-z]+-)?(\d+)-")


def scratch_dir(purpose: str) -> tempfile.TemporaryDirectory:
    """A temporary directory for `purpose` ("fix", "api", ...), removed when the block ends."""
    return tempfile.TemporaryDirectory(prefix=f"{PREFIX}{purpose}-{os.getpid()}-")


def scratch_path(purpose: str) -> str:
    """A temporary directory that lives until the process ends (its caller removes it at exit)."""
    return tempfile.mkdtemp(prefix=f"{PREFIX}{purpose}-{os.getpid()}-")


def sweep() -> None:
    """Remove the scratch directories of preflint processes that no longer run."""
    root = tempfile.gettempdir()
    try:
        names = os.listdir(root)
    except OSError:
        return
    for name in names:
        owner = _OWNED.match(name)
        if owner is None or _alive(int(owner.group(1))):
            continue
        shutil.rmtree(os.path.join(root, name), ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: alive, and not ours to sweep
        return True
    return True
