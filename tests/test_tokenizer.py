"""`--tokenizer` resolution, on real tokenizers only: the Llama 3 model llama-models ships, and BPEs trained here."""

import contextlib
import json
from pathlib import Path

import pytest
from tokenizers import Tokenizer as RustTokenizer
from tokenizers import models, pre_tokenizers, trainers

from preflint.errors import TokenizerError
from preflint.tokenizer.loading import ALIASES, load_tokenizer

TEXTS = [
    "Hello world!  \n\n  indented\tand tabbed",
    "你好，世界。Ça va? Grüße — 1234567 ünïcödé",
    "<|eot_id|> looks like a control token",
    " leading space",
    "",
]


def test_llama_alias_matches_metas_own_tokenizer(llama):
    from llama_models.llama3.tokenizer import Tokenizer as MetaTokenizer

    meta = MetaTokenizer.get_instance()
    ours = llama.encode_many(TEXTS)
    assert ours == [meta.encode(text, bos=False, eos=False, allowed_special="all") for text in TEXTS]
    assert llama.hf.bos_token == "<|begin_of_text|>"
    assert llama.hf("hi")["input_ids"][0] == meta.bos_id  # the tokenizer adds BOS like the hub's Llama 3


def test_repeated_texts_are_tokenized_once_and_each_gets_its_own_ids(llama, monkeypatch):
    backend = llama.hf.backend_tokenizer
    tokenized = []

    class Counting:  # the Rust tokenizer, recording what it is asked to tokenize
        def __getattr__(self, name):
            return getattr(backend, name)

        def encode_batch_fast(self, texts, **options):
            tokenized.extend(texts)
            return backend.encode_batch_fast(texts, **options)

    monkeypatch.setitem(llama.__dict__, "_backend", Counting())
    texts = [*TEXTS, TEXTS[0], "", TEXTS[1]]
    ids = llama.encode_many(texts)
    assert sorted(tokenized) == sorted(TEXTS)
    assert ids == [backend.encode(text, add_special_tokens=False).ids for text in texts]
    ids[0].append(-1)  # a rule or trainer profile changing one text's ids leaves its repeats alone
    assert ids[len(TEXTS)] == ids[0][:-1]


def test_llama_alias_renders_the_llama3_chat_template(llama):
    rendered = llama.render_chat([{"role": "user", "content": " Hi "}], add_generation_prompt=True)
    assert rendered == (
        "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>"
        "<|start_header_id|>assistant<|end_header_id|>\n\n"
    )


def test_tool_calls_reach_the_chat_template_as_a_trainer_passes_them(llama):
    """TRL hands the messages to apply_chat_template whole: a template with tool support renders the calls."""
    from preflint.shapes.fields import detect_fields
    from preflint.shapes.pairs import normalize

    template = (
        "{% for m in messages %}[{{ m.role }}: {{ m.content }}{% for c in m.tool_calls or [] %}(call "
        "{{ c.function.name }}){% endfor %}{% if m.tool_call_id %}(for {{ m.tool_call_id }}){% endif %}]{% endfor %}"
    )
    call = {"type": "function", "function": {"name": "get_weather", "arguments": {"city": "Paris"}}}
    record = {
        "prompt": [
            {"role": "user", "content": "Weather?"},
            {"role": "assistant", "content": None, "tool_calls": [call]},
            {"role": "tool", "tool_call_id": "call_1", "content": "21"},
        ],
        "chosen": [{"role": "assistant", "content": "21 degrees."}],
        "rejected": [{"role": "assistant", "content": "?"}],
    }
    prompt = normalize(record, detect_fields(list(record), {}, "data.jsonl")).prompt
    rendered = llama.with_chat_template(template).render_chat(prompt, add_generation_prompt=False)
    assert rendered == "[user: Weather?][assistant: (call get_weather)][tool: 21(for call_1)]"


def test_conversion_is_cached_as_json(tmp_path):
    load_tokenizer("llama", cache_dir=tmp_path)
    cached = list((tmp_path / "tokenizers").glob("llama3-*.json"))
    assert len(cached) == 1
    assert json.loads(cached[0].read_text())["model"]["type"] == "BPE"


def test_every_alias_names_a_hub_id():
    assert all("/" in alias.hub_id for alias in ALIASES.values())


def _train_bpe() -> RustTokenizer:
    tokenizer = RustTokenizer(models.BPE(unk_token="<unk>"))
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    trainer = trainers.BpeTrainer(vocab_size=300, special_tokens=["<unk>", "<s>", "</s>"])
    tokenizer.train_from_iterator(["the cat sat on the mat", "the dog ate the cat food"] * 50, trainer)
    return tokenizer


def test_local_directory_and_tokenizer_json(tmp_path):
    from transformers import PreTrainedTokenizerFast

    rust = _train_bpe()
    directory = tmp_path / "my-model"
    PreTrainedTokenizerFast(tokenizer_object=rust, bos_token="<s>", eos_token="</s>").save_pretrained(directory)
    from_dir = load_tokenizer(str(directory))
    expected = rust.encode("the cat ate", add_special_tokens=False).ids
    assert from_dir.encode_many(["the cat ate"]) == [expected]
    assert not from_dir.has_chat_template

    rust.save(str(tmp_path / "bare.json"))
    assert load_tokenizer(str(tmp_path / "bare.json")).encode_many(["the cat ate"]) == [expected]


def test_a_tokenizer_is_loaded_once_until_its_files_change(tmp_path):
    """A fix scans several times and reports at the end: one load serves them all, unless the files changed."""
    import os

    from transformers import PreTrainedTokenizerFast

    directory = tmp_path / "my-model"
    PreTrainedTokenizerFast(tokenizer_object=_train_bpe(), eos_token="</s>").save_pretrained(directory)
    first = load_tokenizer(str(directory))
    assert load_tokenizer(str(directory)) is first
    config = directory / "tokenizer_config.json"
    config.write_text(json.dumps({**json.loads(config.read_text()), "eos_token": "<s>"}))
    os.utime(config, ns=(0, 0))  # however coarse the file system's clock, this is a change
    reloaded = load_tokenizer(str(directory))
    assert reloaded is not first and reloaded.hf.eos_token == "<s>"


def test_unknown_and_broken_tokenizers_are_clear_errors(tmp_path):
    with pytest.raises(TokenizerError, match="unknown tokenizer 'not-a-model'"):
        load_tokenizer("not-a-model")
    (tmp_path / "broken.json").write_text("{not json")
    with pytest.raises(TokenizerError, match="cannot load a tokenizer from"):
        load_tokenizer(str(tmp_path / "broken.json"))
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "tokenizer.json").write_text('{"not": "a tokenizer"}')  # transformers raises KeyError
    with pytest.raises(TokenizerError, match="cannot load a tokenizer from .*other': 'added_tokens' is missing$"):
        load_tokenizer(str(tmp_path / "other"))
    with pytest.raises(TokenizerError, match="no tokenizer named"):  # an empty `tokenizer = ""` in a config
        load_tokenizer(" ")


def test_an_alias_of_a_hub_model_out_of_reach_says_which_model(monkeypatch):
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)  # as on a machine without the hub
    with pytest.raises(
        TokenizerError, match="tokenizer 'qwen' is 'Qwen/Qwen2.5-7B-Instruct', which could not be loaded"
    ):
        load_tokenizer("qwen")


def test_code_shipped_with_a_tokenizer_never_runs(tmp_path):
    from transformers import PreTrainedTokenizerFast

    directory = tmp_path / "remote-code"
    PreTrainedTokenizerFast(tokenizer_object=_train_bpe()).save_pretrained(directory)
    marker = tmp_path / "pwned"
    (directory / "evil.py").write_text(f"open({str(marker)!r}, 'w').write('ran')\n")
    config = json.loads((directory / "tokenizer_config.json").read_text())
    config["auto_map"] = {"AutoTokenizer": ["evil.EvilTokenizer", "evil.EvilTokenizer"]}
    (directory / "tokenizer_config.json").write_text(json.dumps(config))
    with contextlib.suppress(TokenizerError):  # refusing is fine; running the code is not
        load_tokenizer(str(directory))
    assert not marker.exists()
    assert not Path("pwned").exists()


def test_truncation_left_on_the_backend_by_transformers_does_not_cut_our_ids(llama):
    text = "one two three four five six seven eight nine ten"
    full = llama.encode_many([text])[0]
    llama.hf(text, max_length=3, truncation=True)  # transformers leaves truncation set on the Rust backend
    assert llama._backend.truncation is not None
    assert llama.encode_many([text])[0] == full


# 3e8 loop steps, several seconds a render (the limit in the test is 0.2 s); the sandbox allows each range
LOOPING_TEMPLATE = (
    "{% set xs = range(99999) | list %}{% for a in range(3000) %}{% for b in xs %}{% endfor %}{% endfor %}x"
)


def test_a_chat_template_that_does_not_end_is_stopped_and_reported(tmp_path, monkeypatch, capsys):
    """A template is data, and the sandbox bounds ranges, not loops over them: one that loops for long (from a
    downloaded tokenizer, say: nested loops run for hours) is stopped at the time limit, each row it stopped on
    gets S005, and after a few it is not run again, so the scan ends. The rows render in a prefetch thread here,
    which the limit reaches too."""
    import preflint.tokenizer.wrapper
    from preflint.cli import main

    monkeypatch.setattr(preflint.tokenizer.wrapper, "RENDER_SECONDS", 0.2)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "loop.jinja").write_text(LOOPING_TEMPLATE)
    chat = [{"role": "user", "content": "Hi"}]
    rows = [
        {
            "prompt": chat,
            "chosen": [{"role": "assistant", "content": f"Hello {i}"}],
            "rejected": [{"role": "assistant", "content": "Go away."}],
        }
        for i in range(4)
    ]
    (tmp_path / "data.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
    assert main(["scan", "data.jsonl", "--chat-template", "loop.jinja", "--format", "jsonl", "--no-cache"]) == 1
    findings = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [f["row"] for f in findings if f["code"] == "S005"] == [0, 1, 2, 3]
    messages = [f["message"] for f in findings if f["code"] == "S005"]
    assert "stopped after running for 0.2 s" in messages[0] and "not run again" in messages[-1]


def test_the_render_time_limit_stops_its_timer_once_renders_end():
    """The limit's timer ticks only while chats are rendered: left running, it would wake the process every
    second for as long as it lives (a program using the API, say)."""
    import signal
    import time

    tokenizer = load_tokenizer("llama")
    chat = [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}]
    assert tokenizer.render_chat(chat, add_generation_prompt=False).endswith("Hello<|eot_id|>")
    assert signal.getitimer(signal.ITIMER_REAL) != (0.0, 0.0)  # armed by the render
    time.sleep(1.5)  # its next tick finds no render running
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)


def test_a_process_that_renders_then_exits_keeps_its_exit_code():
    """At exit Python gives SIGALRM back its default, which ends the process: the limit's timer, still ticking
    within a second of the last render, is stopped first, or the process ends with 'Alarm clock' (code 142)
    instead of its own code. A whole test run did, once it had rendered a chat in its last second."""
    import subprocess
    import sys

    program = (
        "import sys, time\nfrom preflint.tokenizer.loading import load_tokenizer\n"
        "load_tokenizer('llama').render_chat([{'role': 'user', 'content': 'Hi'}], add_generation_prompt=False)\n"
        "time.sleep(0.9)\nsys.exit(3)\n"
    )
    assert subprocess.run([sys.executable, "-c", program]).returncode == 3


def test_a_program_with_its_own_sigalrm_handler_keeps_it():
    """The Python API in a program that uses SIGALRM itself: preflint neither replaces its handler nor sets a timer
    that would call it (its chats render without a time limit)."""
    import subprocess
    import sys

    program = (
        "import signal\nfrom preflint.tokenizer.loading import load_tokenizer\n"
        "def mine(signum, frame): raise SystemExit(5)\n"
        "signal.signal(signal.SIGALRM, mine)\n"
        "load_tokenizer('llama').render_chat([{'role': 'user', 'content': 'Hi'}], add_generation_prompt=False)\n"
        "assert signal.getsignal(signal.SIGALRM) is mine and signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)\n"
    )
    assert subprocess.run([sys.executable, "-c", program]).returncode == 0


def test_a_directory_without_a_vocabulary_says_so_in_one_line(tmp_path):
    """transformers stops mid-sentence on an empty directory, and builds a tokenizer that encodes text to nothing
    from a tokenizer_config.json alone: both are one line that says what is missing."""
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(TokenizerError) as raised:
        load_tokenizer(str(empty))
    assert str(raised.value).endswith(
        "it has no vocabulary file (tokenizer.json, tokenizer.model, vocab.json with "
        "merges.txt, or vocab.txt); it is empty"
    )
    config_only = tmp_path / "config-only"
    config_only.mkdir()
    (config_only / "tokenizer_config.json").write_text(json.dumps({"tokenizer_class": "LlamaTokenizer"}))
    with pytest.raises(TokenizerError, match="no vocabulary file .*; it holds only tokenizer_config.json$"):
        load_tokenizer(str(config_only))


def test_a_data_file_given_as_the_tokenizer_is_named_as_such(tmp_path):
    data = tmp_path / "data.jsonl"
    data.write_text('{"prompt": "Q?", "chosen": "A.", "rejected": "B."}\n')
    with pytest.raises(
        TokenizerError, match="'.*data.jsonl': it is not a tokenizer.json; --tokenizer takes a model directory"
    ):
        load_tokenizer(str(data))
    array = tmp_path / "pairs.json"
    array.write_text('[{"prompt": "Q?", "chosen": "A.", "rejected": "B."}]')
    with pytest.raises(TokenizerError, match=r"it is not a tokenizer.json \(.*\); --tokenizer takes"):
        load_tokenizer(str(array))


@pytest.mark.parametrize("spec", ["./no/such/dir", "/no/such/dir", "~/no-such-dir-here", "no/such/dir", "models/none"])
def test_a_path_that_does_not_exist_is_not_looked_up_on_the_hub(spec, tmp_path, monkeypatch):
    from transformers import AutoTokenizer

    (tmp_path / "models").mkdir()
    monkeypatch.chdir(tmp_path)

    asked = []

    def hub(name, **kwargs):
        asked.append(name)
        raise OSError("not on the hub")

    monkeypatch.setattr(AutoTokenizer, "from_pretrained", hub)
    with pytest.raises(TokenizerError, match=f"^no such tokenizer directory or file: '{spec}'$"):
        load_tokenizer(spec)
    assert asked == []
    with pytest.raises(TokenizerError, match="could not be loaded from the Hugging Face hub"):
        load_tokenizer("some-org/some-model")
    assert asked == ["some-org/some-model"]  # a hub id still goes to the hub
