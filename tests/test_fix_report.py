"""The fix report: JSON for tools, one self-contained HTML file for people, checked in a real headless Chromium."""

import json
import os
import shutil

import pytest

from preflint.cli import main
from preflint.report.samples import token_diff
from tests.conftest import data_file

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    """One fix of the HH-RLHF harmless test file, with both reports."""
    directory = tmp_path_factory.mktemp("report")
    html, data = directory / "report.html", directory / "report.json"
    out = directory / "clean.parquet"
    hh = str(data_file("hh-rlhf-harmless-test.jsonl"))
    assert main(["fix", hh, "--out", str(out), "--report", str(html), "--no-progress", "--exit-zero"]) == 0
    assert (
        main(
            [
                "fix",
                hh,
                "--out",
                str(directory / "again.parquet"),
                "--report",
                str(data),
                "--no-progress",
                "--exit-zero",
            ]
        )
        == 0
    )
    return html, json.loads(data.read_text(encoding="utf-8"))


def test_json_report_accounts_for_every_row(reports):
    _, data = reports
    accounting = data["accounting"]
    assert accounting["rows_read"] == 2312
    assert accounting["dropped_by_reason"] == {"P004": 4}  # the four replies that end at "Assistant:"
    assert accounting["rows_kept"] + accounting["rows_dropped"] == accounting["rows_read"]
    assert data["before"]["forecast"]["pairs"] == 2312
    assert sum(data["distributions"]["token_edit_distance"].values()) > 2000
    assert {"M008", "P003", "D004"} <= set(data["remaining"]["by_code"])
    sample = next(s for s in data["samples"] if any(f["code"] == "P003" for f in s["findings"]))
    assert ["changed", "!"] in sample["chosen"] + sample["rejected"]  # "You're welcome." vs "You're welcome!"


def test_html_report_is_self_contained(reports):
    html, _ = reports
    text = html.read_text(encoding="utf-8")
    assert "<script" not in text
    for reference in ('src="http', "src='http", 'href="http', "href='http", "url(http", "@import"):
        assert reference not in text  # no CDN, no web font, no remote image
    assert text.count("<svg") == 3
    assert "<code>P004</code> empty-response</td>" in text  # a drop's reason named, not only coded


@pytest.mark.skipif(
    not CHROMIUM and not os.environ.get("CI"), reason="Debian's chromium is not installed (.ci/run installs it)"
)
def test_html_report_renders_in_headless_chromium(reports, tmp_path):
    from playwright.sync_api import sync_playwright

    html, data = reports
    requests = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--no-first-run",
            ],
        )
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        page.on("request", lambda request: requests.append(request.url))
        page.goto(html.as_uri())
        for plot in ("edit-distance", "length-ratio", "findings-per-rule"):
            box = page.locator(f"#plot-{plot} svg").bounding_box()
            assert box and box["width"] > 600 and box["height"] > 150, plot
        assert "Every row is accounted for" in page.inner_text("#accounting")
        assert "2,312 read = 2,308 kept + 4 dropped" in page.inner_text("#accounting")
        assert page.locator("#samples mark.changed").count() > 0
        shot = tmp_path / "report.png"
        page.screenshot(path=str(shot), full_page=True)
        browser.close()
    assert requests == [html.as_uri()]  # nothing fetched but the file itself: it works offline
    assert shot.stat().st_size > 50_000


def test_a_sample_of_long_different_responses_is_one_shortened_change(llama):
    """Past a few thousand tokens a side, the tokens between the common start and end are one change (difflib's
    quadratic matching took hours on two responses of 450,000 tokens), shown with its middle left out."""
    start, a, b, end = (llama.encode_many([text])[0] for text in ("Sure, here it is:", " a", " b", " Done."))
    chosen = start + [a[0], b[0]] * 1500 + end
    rejected = start + [b[0], a[0], a[0]] * 1000 + end
    chosen_parts, rejected_parts = token_diff(chosen, rejected, llama)
    assert chosen_parts[0] == ["same", "Sure, here it is:"] and chosen_parts[-1] == ["same", " Done."]
    assert [kind for kind, _ in chosen_parts] == [kind for kind, _ in rejected_parts] == ["same", "changed", "same"]
    assert chosen_parts[1][1].startswith(" a b a b") and " … " in chosen_parts[1][1]
    small = token_diff(start + a + end, start + b + end, llama)
    assert small == (
        [["same", "Sure, here it is:"], ["changed", " a"], ["same", " Done."]],
        [["same", "Sure, here it is:"], ["changed", " b"], ["same", " Done."]],
    )


def test_token_edit_distances_are_counted_in_bins_up_to_501_and_beyond(tmp_path, write_jsonl):
    data = write_jsonl(
        [
            {"prompt": "Count.", "chosen": " one" * 700, "rejected": " two" * 700},  # 700 tokens replaced
            {"prompt": "Say it.", "chosen": "a b c d", "rejected": "a x y z"},  # 3
        ]
    )
    report = tmp_path / "report.json"
    assert main(["fix", str(data), "--out", str(tmp_path / "out.jsonl"), "--report", str(report), "--exit-zero"]) == 0
    distances = json.loads(report.read_text(encoding="utf-8"))["distributions"]["token_edit_distance"]
    assert {label: count for label, count in distances.items() if count} == {"3": 1, "501+": 1}


def test_html_report_names_the_fixes_the_findings_carry_not_only_the_rules(tmp_path):
    """M003's fix is to drop a row, but a pair the trainer made identical (axolotl trains HH-RLHF's replies as '>')
    is kept: display-only. Counts are written with thousands separators."""
    report = tmp_path / "report.html"
    argv = [
        "fix",
        str(data_file("hh-rlhf-harmless-test.jsonl")),
        "--trainer",
        "axolotl",
        "--out",
        str(tmp_path / "out.jsonl"),
    ]
    assert main([*argv, "--report", str(report), "--no-progress"]) == 1
    html = report.read_text(encoding="utf-8")
    assert (
        '<td><code>M003</code></td><td>identical-after-truncation</td><td class="severity-error">error</td>'
        "<td>display-only</td>" in html
    )
    assert "Remaining: 6,866 findings (2,287 with an unsafe fix" in html


def test_markdown_report_shows_what_each_rule_found_dropped_fixed_and_left(tmp_path, write_jsonl):
    """`--report report.md`: the accounting, a table per rule and the findings left, for a dataset card."""
    from markdown_it import MarkdownIt

    data = write_jsonl(
        [
            {"prompt": "Capital of France?", "chosen": "Paris.", "rejected": "Paris."},  # P001: dropped
            {"prompt": "2+2?", "chosen": " 4", "rejected": "5"},  # W001: the space is removed
            {
                "prompt": "Hi?",
                "chosen": "Hello <b>there</b>.",
                "rejected": "Hello <b>there</b>!",
            },  # P003: left (unsafe)
        ]
    )
    report = tmp_path / "report.md"
    assert (
        main(["fix", str(data), "--out", str(tmp_path / "out.parquet"), "--report", str(report), "--no-progress"]) == 1
    )
    html = MarkdownIt("commonmark").enable("table").render(report.read_text(encoding="utf-8"))
    assert "<h2>preflint fix: 3 rows read = 2 kept + 1 dropped</h2>" in html
    cells = {row.split("</td>")[0].removeprefix("<td>"): row for row in html.split("<tr>\n") if row.startswith("<td>")}
    numbers = {code: [cell.split(">")[-1] for cell in row.split("</td>")[4:8]] for code, row in cells.items()}
    assert numbers == {"P001": ["1", "1", "0", "0"], "P003": ["1", "0", "0", "1"], "W001": ["1", "0", "1", "0"]}
    assert "remaining: 1 finding (P003 1): 1 unsafe fix available with --unsafe-fixes" in html
    assert "<li>row 2: chosen and rejected differ only in punctuation: 'Hello &lt;b&gt;there&lt;/b&gt;.'" in html
    assert f"<li>wrote {tmp_path / 'out.parquet'} (2 rows)</li>" in html


def test_html_samples_count_tokens_in_words_and_cut_the_prompt_between_words(tmp_path, write_jsonl):
    """A one-token reply is '1 token', and a long prompt's context starts at a word, after an ellipsis."""
    prompt = " ".join(f"word{n}" for n in range(300)) + " Which is it?"
    data = write_jsonl([{"prompt": prompt, "chosen": " Yes", "rejected": " Yes!"}])  # P003: shown as a sample
    report = tmp_path / "report.html"
    assert main(["fix", str(data), "--out", str(tmp_path / "out.jsonl"), "--report", str(report), "--exit-zero"]) == 0
    html = report.read_text(encoding="utf-8")
    assert '<span class="muted">1 token</span>' in html and '<span class="muted">2 tokens</span>' in html
    shown = html[html.index('<div class="prompt">') + len('<div class="prompt">') :].split("</div>")[0]
    assert shown.startswith("…word") and shown.endswith("Which is it?") and len(shown) <= 401
