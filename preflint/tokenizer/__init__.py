"""Tokenizers: resolving `--tokenizer` (loading), the wrapper every stage uses, chat templates and their time limit,
and the built-in Llama 3 vocabulary. Nothing a tokenizer ships runs as code."""

import os

# Set before transformers is first imported (lazily, by the modules here).
os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")  # "PyTorch was not found" is noise here
os.environ.setdefault("TOKENIZERS_PARALLELISM", "true")  # else transformers may switch it off
