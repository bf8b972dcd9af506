"""The Hugging Face hub, asked once whether it can be reached.

Without a network the hub's client retries every request five times, 1 to 8 seconds apart, logging each retry: a
hub tokenizer or dataset took most of a minute to fail, under a dozen lines of warnings. Before preflint first
asks the hub for anything it opens one connection to it; if that fails, the hub libraries go offline as with
`HF_HUB_OFFLINE=1` (worker processes too): what the local cache holds still loads, anything else fails at once.
Behind a proxy (HTTPS_PROXY and the like) only the proxy can tell, so nothing is probed.
"""

from __future__ import annotations

import os
import socket
import sys
from functools import cache
from urllib.parse import urlsplit

CONNECT_TIMEOUT = 3.0  # seconds
PROXY_VARIABLES = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy")


@cache
def out_of_reach() -> str | None:
    """Why the hub cannot be reached, the hub libraries then being offline; None when it can, or when only a
    proxy could tell (the client's own requests will)."""
    import huggingface_hub.constants as hub

    if hub.HF_HUB_OFFLINE:
        return "HF_HUB_OFFLINE is set"
    if any(os.environ.get(name) for name in PROXY_VARIABLES):
        return None
    endpoint = urlsplit(hub.ENDPOINT)
    port = endpoint.port or (443 if endpoint.scheme == "https" else 80)
    try:
        socket.create_connection((endpoint.hostname, port), timeout=CONNECT_TIMEOUT).close()
    except OSError as exc:
        _go_offline()
        return f"{endpoint.hostname} cannot be reached: {exc.strerror or exc}"
    return None


def _go_offline() -> None:
    import huggingface_hub.constants as hub

    os.environ["HF_HUB_OFFLINE"] = "1"  # for worker processes started from here, which import the libraries anew
    hub.HF_HUB_OFFLINE = True  # transformers reads it at each call
    if "datasets" in sys.modules:  # datasets keeps its own copy, read at each call
        sys.modules["datasets"].config.HF_HUB_OFFLINE = True
