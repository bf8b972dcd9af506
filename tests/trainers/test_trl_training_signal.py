"""The ln 2 forecast against TRL's own training code: a small version of `python -m benchmarks.training_signal`
(24 pairs at the edges of max_length 128; two steps of TRL's DPOTrainer on a tiny random Llama with the Llama 3
vocabulary). A pair gives DPO no signal when TRL trains its two sides as the same tokens; with a random model their
log-probabilities, under TRL's collator and the model's forward, are then equal, and only then. So the pairs the
forecast names must be exactly those: the day the trl profile's simulation drifts from TRL, this fails."""

import json

from benchmarks.training_signal import AT_LN2, LN2, SMALL, Forecast, build_pairs, tiny_llama, train
from preflint.cli import main

# Sides of one token or more apart differ by 0.02 or more in log-probability here; the same tokens, by 0.
EQUAL_LOGPS = 1e-3


def test_the_pairs_the_forecast_names_are_those_trl_trains_without_signal(llama, tmp_path, write_jsonl):
    rows, groups = build_pairs(llama.hf, SMALL, 24)
    model = tiny_llama(llama.hf, tmp_path / "model")
    report = tmp_path / "scan.json"
    argv = ["scan", str(write_jsonl(rows)), "--tokenizer", str(model), "--trainer", "trl", "--max-length", "128"]
    assert main([*argv, "--no-cache", "--format", "json", "-o", str(report)]) == 1
    forecast = Forecast.of(json.loads(report.read_text(encoding="utf-8")))

    run = train(rows, model, tmp_path / "run", max_steps=2)

    assert set(range(len(rows))) - set(run.kept) == forecast.dropped, "the rows TRL drops"
    equal = {pair for pair, (chosen, rejected) in run.logps.items() if abs(chosen - rejected) <= EQUAL_LOGPS}
    assert equal == forecast.pinned, "the pairs TRL trains with two equal sides"
    assert all(abs(run.losses[pair] - LN2) <= AT_LN2 for pair in forecast.pinned), "their loss stays at ln 2"
    # the data reaches both sides of every edge, so a simulation off by one token cannot pass
    named = {groups[pair] for pair in forecast.pinned}
    assert {
        "first difference at token 128",
        "chosen's EOS at token 128",
        "prompt of 126 tokens, replies share 2 tokens",
        "prompt of 127 tokens, replies share 1 token",
    } <= named
    assert (
        not {
            "first difference at token 127",
            "chosen's EOS at token 127",
            "prompt of 126 tokens, replies share 1 token",
            "prompt of 127 tokens, replies share 0 tokens",
        }
        & named
    )
    assert {groups[row] for row in forecast.dropped} == {"prompt of 128 tokens", "prompt of 129 tokens"}
