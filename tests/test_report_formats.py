"""A snapshot per CI format: the exact bytes a CI system parses (or, for markdown, renders).
PREFLINT_UPDATE_SNAPSHOTS=1 rewrites them (then read the diff before committing)."""

import json
import os
from pathlib import Path
from xml.etree import ElementTree

import pytest

from preflint.cli import main

SNAPSHOTS = Path(__file__).resolve().parent / "snapshots"
ROWS = [
    {"prompt": "Capital of France?", "chosen": "Paris.", "rejected": "Paris."},
    {"prompt": "Capital of France?", "chosen": " Paris.", "rejected": "Rome, 100% sure:\nno."},
    {"prompt": "2+2?", "chosen": "", "rejected": "5"},
]


@pytest.fixture
def scanned(tmp_path, monkeypatch, write_jsonl):
    monkeypatch.chdir(tmp_path)
    write_jsonl(ROWS)

    def run(fmt: str, capsys) -> str:
        assert main(["scan", "data.jsonl", "--select", "P001,P004,W001", "--format", fmt, "--no-progress"]) == 1
        return capsys.readouterr().out

    return run


@pytest.mark.parametrize("fmt", ["github", "sarif", "gitlab", "junit", "markdown"])
def test_format_matches_its_snapshot(fmt, scanned, capsys):
    output = scanned(fmt, capsys)
    snapshot = SNAPSHOTS / f"scan.{fmt}"
    if os.environ.get("PREFLINT_UPDATE_SNAPSHOTS"):
        snapshot.write_text(output, encoding="utf-8")
    assert output == snapshot.read_text(encoding="utf-8")


def test_formats_parse_as_their_consumers_expect(scanned, capsys):
    github = scanned("github", capsys).splitlines()
    assert github[0].startswith("::error file=data.jsonl,line=1,title=P001 identical-pair::row 0: ")
    sarif = json.loads(scanned("sarif", capsys))
    assert sarif["version"] == "2.1.0" and [r["ruleId"] for r in sarif["runs"][0]["results"]] == [
        "P001",
        "W001",
        "P004",
    ]
    junit = ElementTree.fromstring(scanned("junit", capsys))
    assert junit.get("failures") == "3" and len(junit.findall(".//failure")) == 3
    gitlab = json.loads(scanned("gitlab", capsys))  # the keys GitLab's Code Quality widget requires
    assert [(issue["check_name"], issue["severity"], issue["location"]) for issue in gitlab] == [
        ("P001", "major", {"path": "data.jsonl", "lines": {"begin": 1}}),
        ("W001", "minor", {"path": "data.jsonl", "lines": {"begin": 2}}),
        ("P004", "major", {"path": "data.jsonl", "lines": {"begin": 3}}),
    ]
    assert all(issue["description"] and issue["fingerprint"] for issue in gitlab)


def test_gitlab_fingerprints_are_unique_and_survive_rows_moving(tmp_path, monkeypatch, write_jsonl, capsys):
    """GitLab tells a merge request's new findings from fixed ones by fingerprint: two identical rows still make two
    issues, and a row added above the others changes no fingerprint of theirs (their lines do change)."""
    monkeypatch.chdir(tmp_path)

    def fingerprints(rows) -> list[str]:
        write_jsonl(rows)
        assert main(["scan", "data.jsonl", "--select", "P001", "--format", "gitlab", "--no-progress"]) == 1
        return [issue["fingerprint"] for issue in json.loads(capsys.readouterr().out)]

    before = fingerprints([ROWS[0], ROWS[0]])
    assert len(set(before)) == 2
    after = fingerprints([{"prompt": "New?", "chosen": "Yes.", "rejected": "Yes!"}, ROWS[0], ROWS[0]])
    assert after == before


def test_annotations_point_at_the_line_each_row_starts_on(tmp_path, monkeypatch, capsys):
    """GitHub shows an annotation beside the line of a pull request's diff it names: the line its row starts on in a
    text file (here inside a pretty-printed JSON array, as LLaMA-Factory's data is written); Parquet has no lines."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    monkeypatch.chdir(tmp_path)
    (tmp_path / "data.json").write_text(json.dumps(ROWS, indent=2))
    pq.write_table(pa.Table.from_pylist(ROWS), tmp_path / "data.parquet")

    def run(fmt: str) -> str:
        assert main(["scan", "data.json", "data.parquet", "--select", "P001", "--format", fmt, "--no-progress"]) == 1
        return capsys.readouterr().out

    github = run("github")
    assert github.splitlines() == [
        "::error file=data.json,line=2,title=P001 identical-pair::row 0: chosen and rejected are identical (2 tokens)",
        "::error file=data.parquet,title=P001 identical-pair::row 3: chosen and rejected are identical (2 tokens)",
    ]
    assert run("github") == github  # the second scan is the cache's: the lines are read again
    locations = [
        result["locations"][0]["physicalLocation"] for result in json.loads(run("sarif"))["runs"][0]["results"]
    ]
    assert [location.get("region") for location in locations] == [{"startLine": 2}, None]
    assert [case.get("line") for case in ElementTree.fromstring(run("junit")).iter("testcase")] == ["2", None]


@pytest.mark.parametrize("layout", ["jsonl", "parquet"])
def test_annotations_in_a_data_directory_point_at_its_data_files(layout, tmp_path, monkeypatch, capsys):
    """A dataset repository scanned whole (`preflint scan .`): each annotation names the data file its row came from
    (the split's shards, in the order they are read), with its line in a JSON Lines shard; test is not read."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    monkeypatch.chdir(tmp_path)
    (tmp_path / "data").mkdir()
    shards = {"train-00000-of-00002": ROWS[:2], "train-00001-of-00002": ROWS, "test-00000-of-00001": ROWS}
    for name, rows in shards.items():
        if layout == "jsonl":
            Path(f"data/{name}.jsonl").write_text("\n\n".join(json.dumps(row) for row in rows) + "\n")
        else:
            pq.write_table(pa.Table.from_pylist(rows), f"data/{name}.parquet")

    assert main(["scan", ".", "--select", "P001,P004", "--format", "github", "--no-progress"]) == 1
    where = [line.split(",title=")[0] for line in capsys.readouterr().out.splitlines()]
    first, second = (f"::error file=data/train-0000{shard}-of-00002.{layout}" for shard in (0, 1))
    if layout == "jsonl":  # rows 0, then 2 and 4 of the split, with a blank line between records
        assert where == [f"{first},line=1", f"{second},line=1", f"{second},line=5"]
    else:
        assert where == [first, second, second]


def test_markdown_renders_data_as_written(tmp_path, monkeypatch, write_jsonl, capsys):
    """HTML tags, emphasis and special-token text quoted from the data show as written: none becomes markup."""
    from markdown_it import MarkdownIt

    monkeypatch.chdir(tmp_path)
    write_jsonl(
        [
            {"prompt": "Q", "chosen": "<b>my_var</b> *yes*.", "rejected": "<b>my_var</b> *yes*!"},
            {"prompt": "Say hi", "chosen": "Sure <|eot_id|> done", "rejected": "No"},
        ]
    )
    assert main(["scan", "data.jsonl", "--select", "M006,P003", "--format", "markdown", "--no-progress"]) == 1
    html = MarkdownIt("commonmark").enable("table").render(capsys.readouterr().out)
    assert "<h2>preflint: 2 findings (1 error, 1 warning) in 2 of 2 rows</h2>" in html
    assert (
        "<li>row 0: chosen and rejected differ only in punctuation: '&lt;b&gt;my_var&lt;/b&gt; *yes*.' vs "
        "'&lt;b&gt;my_var&lt;/b&gt; *yes*!'</li>"
    ) in html
    assert "<li>row 1: chosen contains &lt;|eot_id|&gt; as text: the tokenizer reads it as a control token</li>" in html
    body = html[html.index("<tbody>") : html.index("</tbody>")]
    assert [row.count("<td") for row in body.split("<tr>")[1:]] == [6, 6]


def test_findings_only_about_the_dataset_are_not_said_to_be_in_no_row(tmp_path, monkeypatch, write_jsonl, capsys):
    monkeypatch.chdir(tmp_path)
    words = "please tell me in a few plain words what the capital city of the country of France has been since".split()
    rows = [{"prompt": " ".join(words + [end]), "chosen": "Paris.", "rejected": "Rome."} for end in ("1800?", "1900?")]
    write_jsonl(rows)
    for fmt, line in (
        ("text", "Found 1 finding (1 warning) about the dataset of 2 rows."),
        ("markdown", "## preflint: 1 finding (1 warning) about the dataset of 2 rows"),
    ):
        assert main(["scan", "data.jsonl", "--select", "D004", "--format", fmt, "--no-progress"]) == 1
        assert line in capsys.readouterr().out


def test_github_escapes_what_would_end_a_command():
    from preflint.report.ci import _escape_data, _escape_property

    assert _escape_data("100% sure\r\nno") == "100%25 sure%0D%0Ano"
    assert _escape_property("a:b,c") == "a%3Ab%2Cc"


def test_sarif_locations_are_uri_references(tmp_path, monkeypatch, write_jsonl, capsys):
    """Code scanning rejects a SARIF file whose `uri` is not a URI: a space is percent-encoded, and an absolute path
    is a file URI."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "my data").mkdir()
    path = write_jsonl(ROWS[:1], name="my data/train #1.jsonl")
    for given, uri in (("my data/train #1.jsonl", "my%20data/train%20%231.jsonl"), (str(path), path.as_uri())):
        assert main(["scan", given, "--select", "P001", "--format", "sarif", "--no-cache"]) == 1
        location = json.loads(capsys.readouterr().out)["runs"][0]["results"][0]["locations"][0]
        assert location["physicalLocation"]["artifactLocation"]["uri"] == uri
