"""Chat templates: the Llama 3 one shipped with the built-in vocabulary, a template file given with
--chat-template (checked to parse in the sandbox it renders in), and the fallback for tokenizers without one."""

from __future__ import annotations

from pathlib import Path

from preflint.errors import ConfigError
from preflint.tokenizer.sandbox import BoundedSandbox

# Meta-Llama-3-8B-Instruct's chat template (tokenizer_config.json), the one the shipped Llama 3 vocabulary
# was released with.
LLAMA3_CHAT_TEMPLATE = (
    "{% set loop_messages = messages %}{% for message in loop_messages %}"
    "{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n'"
    "+ message['content'] | trim + '<|eot_id|>' %}"
    "{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}"
)


def read_chat_template(path: str) -> str:
    """A Jinja chat template file's text (`--chat-template`), checked to parse as it will render: in jinja2's
    sandbox, with the loop controls transformers enables."""
    from jinja2 import TemplateSyntaxError

    try:
        text = Path(path).expanduser().read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"chat template {path!r} is not UTF-8 text") from None
    except OSError as exc:
        raise ConfigError(f"cannot read chat template {path!r}: {exc.strerror}") from None
    try:
        BoundedSandbox(extensions=["jinja2.ext.loopcontrols"]).parse(text)
    except TemplateSyntaxError as exc:
        raise ConfigError(f"chat template {path!r} is not valid Jinja: {exc.message} (line {exc.lineno})") from None
    return text


def plain_chat(messages: list[dict], *, add_generation_prompt: bool) -> str:
    """For tokenizers without a chat template: `role: content` paragraphs."""
    text = "".join(f"{m['role']}: {m['content']}\n\n" for m in messages)
    return text + ("assistant: " if add_generation_prompt else "")
