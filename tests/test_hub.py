"""The hub out of reach: what the local cache holds loads at once, anything else fails at once, without the hub
client's retries. Run as a user runs preflint, in a process of its own, since the hub libraries take their cache
and endpoint from the environment when imported."""

import json
import os
import subprocess
import sys

from .test_tokenizer import _train_bpe

COMMIT = "0123456789abcdef0123456789abcdef01234567"


def test_the_hub_out_of_reach_means_the_local_cache_or_a_clear_error_at_once(tmp_path):
    from transformers import PreTrainedTokenizerFast

    cache = tmp_path / "hf-cache"
    repository = cache / "models--some-org--tiny"
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=_train_bpe(), bos_token="<s>", eos_token="</s>")
    tokenizer.save_pretrained(repository / "snapshots" / COMMIT)
    (repository / "snapshots" / COMMIT / "config.json").write_text('{"model_type": "gpt2"}')  # AutoTokenizer reads it
    (repository / "refs").mkdir()
    (repository / "refs" / "main").write_text(COMMIT)
    data = tmp_path / "data.jsonl"
    data.write_text(json.dumps({"prompt": "the cat", "chosen": " sat", "rejected": " sat"}) + "\n")
    environment = {name: value for name, value in os.environ.items() if name != "HF_HUB_OFFLINE"}
    environment.update(HF_HUB_CACHE=str(cache), HF_ENDPOINT="http://127.0.0.1:9")  # nothing listens: refused

    def scan(tokenizer_name: str) -> subprocess.CompletedProcess:
        command = [sys.executable, "-m", "preflint", "scan", str(data), "-t", tokenizer_name, "--no-cache"]
        return subprocess.run(command, env=environment, capture_output=True, text=True, timeout=120)

    cached = scan("some-org/tiny")
    assert cached.returncode == 1 and "P001" in cached.stdout  # the cached tokenizer was used
    absent = scan("some-org/absent")
    assert absent.returncode == 2
    assert "127.0.0.1 cannot be reached" in absent.stderr and "the local cache does not hold it" in absent.stderr
    for run in (cached, absent):
        assert "Retrying" not in run.stderr  # the client tried once at most, not five times over ~25 s
