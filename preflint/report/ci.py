"""Formats for CI systems: GitHub workflow annotations, SARIF 2.1.0 (code scanning), GitLab Code Quality reports,
JUnit XML (test reports).

Findings point at the file their row was read from (a data directory's data file), and in a text file (JSON Lines,
JSON, CSV) at the line the row starts on, so GitHub shows them beside that line of a pull request's diff; the row
number goes in the message too (a Parquet file has no lines), and SARIF also carries it as a logical location and
the row's content hash as fingerprint.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections import Counter
from pathlib import Path
from typing import TextIO
from urllib.parse import quote
from xml.etree import ElementTree

from preflint.text import printable
from preflint.version import __version__

GITHUB_LEVELS = {"error": "error", "warning": "warning", "info": "notice"}
SARIF_LEVELS = {"error": "error", "warning": "warning", "info": "note"}
GITLAB_SEVERITIES = {"error": "major", "warning": "minor", "info": "info"}  # of info, minor, major, critical, blocker


def write_github(result, stream: TextIO, **_options) -> None:
    """`::error file=…,title=…::message` lines, which a GitHub Actions step turns into annotations."""
    for finding in result.findings:
        level = GITHUB_LEVELS[finding.severity.value]
        path, line = result.location_of(finding.row)
        properties = (
            f"file={_escape_property(path)}{f',line={line}' if line else ''},"
            f"title={_escape_property(f'{finding.code} {finding.name}')}"
        )
        stream.write(f"::{level} {properties}::{_escape_data(f'{finding.where}: {finding.message}')}\n")


def _escape_data(text: str) -> str:
    """Text of a GitHub workflow command: its own escapes for %, CR and LF, and no other control character."""
    return printable(text, keep_lines=True).replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def _uri(name: str) -> str:
    """An input as SARIF's `uri`, which must be a URI reference: a relative path stays relative (code scanning takes
    it from the repository's root), percent-encoded; an absolute path becomes a file URI."""
    if os.path.isabs(name):
        return Path(name).as_uri()
    return quote(name.replace(os.sep, "/"))


def write_sarif(result, stream: TextIO, **_options) -> None:
    rules = sorted(result.rules, key=lambda rule: rule.code)
    index = {rule.code: position for position, rule in enumerate(rules)}
    results = []
    for finding in result.findings:
        path, line = result.location_of(finding.row)
        physical: dict = {"artifactLocation": {"uri": _uri(path)}}
        if line:
            physical["region"] = {"startLine": line}
        entry = {
            "ruleId": finding.code,
            "ruleIndex": index.get(finding.code, 0),
            "level": SARIF_LEVELS[finding.severity.value],
            "message": {"text": f"{finding.where}: {finding.message}"},
            "locations": [
                {"physicalLocation": physical, "logicalLocations": [{"name": finding.where, "kind": "object"}]}
            ],
        }
        if finding.row_hash:
            entry["partialFingerprints"] = {"preflintRowHash/v1": f"{finding.code}:{finding.row_hash}"}
        if finding.fix:
            entry["properties"] = {"fix": finding.fix.to_dict()}
        results.append(entry)
    sarif = {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "preflint",
                        "version": __version__,
                        "rules": [
                            {
                                "id": rule.code,
                                "name": rule.name,
                                "shortDescription": {"text": rule.summary()},
                                "fullDescription": {"text": rule.documentation()},
                                "defaultConfiguration": {"level": SARIF_LEVELS[rule.severity.value]},
                            }
                            for rule in rules
                        ],
                    }
                },
                "results": results,
            }
        ],
    }
    json.dump(sarif, stream, ensure_ascii=False, indent=2)
    stream.write("\n")


def write_gitlab(result, stream: TextIO, **_options) -> None:
    """GitLab's Code Quality report: a JSON array of issues, which a job's `artifacts: reports: codequality:` turns
    into a merge request's Code Quality widget. GitLab tells new findings from fixed ones by fingerprint, so each is
    the row's content hash (it survives rows moving), made unique among identical rows by counting them."""
    issues, seen = [], Counter()
    for finding in result.findings:
        path, line = result.location_of(finding.row)
        identity = "\0".join((path, *finding.identity))
        seen[identity] += 1
        issues.append(
            {
                "description": f"{finding.code} {finding.name} ({finding.where}): {finding.message}",
                "check_name": finding.code,
                "fingerprint": hashlib.blake2b(f"{identity}\0{seen[identity]}".encode(), digest_size=16).hexdigest(),
                "severity": GITLAB_SEVERITIES[finding.severity.value],
                "location": {"path": path, "lines": {"begin": line or 1}},  # a line is required: Parquet has none
            }
        )
    json.dump(issues, stream, ensure_ascii=False, indent=2)
    stream.write("\n")


def write_junit(result, stream: TextIO, **_options) -> None:
    """One test case per finding, failed, grouped in a test suite per input (as ruff does)."""
    suites = ElementTree.Element(
        "testsuites", name="preflint", tests=str(len(result.findings)), failures=str(len(result.findings))
    )
    by_source: dict[str, list] = {}
    for finding in result.findings:
        path, line = result.location_of(finding.row)
        by_source.setdefault(path, []).append((finding, line))
    if not by_source:  # a clean scan still reports one passing case, so CI shows the check ran
        suite = ElementTree.SubElement(suites, "testsuite", name=", ".join(result.inputs), tests="1", failures="0")
        ElementTree.SubElement(suite, "testcase", name="preflint", classname="preflint")
    for name, findings in by_source.items():
        suite = ElementTree.SubElement(
            suites, "testsuite", name=name, tests=str(len(findings)), failures=str(len(findings))
        )
        for finding, line in findings:
            case = ElementTree.SubElement(
                suite, "testcase", name=f"{finding.code} {finding.name} ({finding.where})", classname=name
            )
            if line:  # as ruff writes it
                case.set("line", str(line))
            failure = ElementTree.SubElement(case, "failure", message=finding.message, type=finding.severity.value)
            failure.text = f"{finding.where}: {finding.code} {finding.name}: {finding.message}"
    ElementTree.indent(suites)
    stream.write('<?xml version="1.0" encoding="UTF-8"?>\n')
    stream.write(ElementTree.tostring(suites, encoding="unicode"))
    stream.write("\n")
