"""Advisory ids on checks (issue 13): validated, linked, and carried into every report."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from oin_conformance.advisories import OIDF_RP_TESTS, advisories, advisory
from tests.conftest import FIXTURES, REFERENCE_TARGET, run_plugin


@pytest.mark.parametrize(
    ("ref", "url"),
    [
        ("CVE-2025-29775", "https://nvd.nist.gov/vuln/detail/CVE-2025-29775"),
        ("GHSA-x3m8-899r-f7c3", "https://github.com/advisories/GHSA-x3m8-899r-f7c3"),
        ("rp-id_token-sig-none", OIDF_RP_TESTS),
    ],
)
def test_each_kind_of_id_links_to_its_page(ref: str, url: str) -> None:
    assert advisory(ref).url == url


@pytest.mark.parametrize(
    "ref", ["CVE-25-1", "cve-2025-29775", "GHSA-xxxx", "https://evil.example", "", "rp-"]
)
def test_anything_else_is_refused(ref: str) -> None:
    with pytest.raises(ValueError, match="not an advisory id"):
        advisory(ref)


def test_ids_are_kept_once_in_order() -> None:
    ids = [a.id for a in advisories(["CVE-2017-11427", "CVE-2017-11428", "CVE-2017-11427"])]
    assert ids == ["CVE-2017-11427", "CVE-2017-11428"]


CHECK = "saml.refuses_hostile_response[comment_in_digest_value]"


def test_report_json_junit_and_html_name_the_advisories(tmp_path: Path) -> None:
    text = REFERENCE_TARGET.read_text().replace(
        'pythonpath = [".."]', f'pythonpath = ["{FIXTURES}"]'
    )
    target = tmp_path / "target.toml"
    target.write_text(text)
    run = run_plugin(f"--oin-target={target}", f"--oin-check={CHECK}", cwd=tmp_path)
    assert run.returncode == 0, run.stdout[-2000:]
    check = next(c for c in run.readiness["checks"] if c["id"] == CHECK)
    assert {"id": "CVE-2025-29775", "url": advisory("CVE-2025-29775").url} in check["references"]
    root = ET.parse(run.report_dir / "junit.xml").getroot()
    props = [
        (p.get("name"), p.get("value"))
        for case in root.iter("testcase")
        for p in case.iter("property")
    ]
    assert ("advisory_id", "CVE-2025-29775") in props
    page = (run.report_dir / "readiness.html").read_text()
    assert "https://nvd.nist.gov/vuln/detail/CVE-2025-29775" in page
    # The JSON written for machines round-trips (no objects the schema does not know).
    assert json.loads(json.dumps(check["references"])) == check["references"]
