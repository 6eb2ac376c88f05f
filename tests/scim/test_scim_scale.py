"""SCIM at scale: a server holding thousands of users and groups of its own costs the run no
more exchanges than an empty one, except the pages Okta's import legitimately reads (and the
pagination check's few, bounded pages). Nothing else lists the server: lookups go by filter
or id, and the session-end sweep works from the journal. (Exchange counts, never wall time;
``benchmarks/run.py --only scim-scale`` reports the time ratio, and
the harness's share of it: wall time minus the time spent inside the server.)"""

from __future__ import annotations

import math
import re
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from suites.scim.test_users import PAGING_FULL, PAGING_SMALL
from tests.scim.test_scim_suite import assert_ready, run, scim_target

#: The seeded server: the ISV's own users and groups (none under the run's prefix).
USERS, GROUPS = 2000, 200
IMPORTS = {"scim.imports_users_as_okta_pages": "Users", "scim.imports_groups": "Groups"}
PAGINATION = "scim.paginates_with_total_results"


def list_page(exchange: dict[str, Any]) -> int | None:
    """The startIndex of an unfiltered GET /Users or /Groups (None for any other request)."""
    url = urlsplit(exchange["url"])
    query = parse_qs(url.query)
    if exchange["method"] != "GET" or not url.path.endswith(("/Users", "/Groups")):
        return None
    if "filter" in query:
        return None
    return int(query.get("startIndex", ["1"])[0])


def exchanges(checks: list[dict[str, Any]]) -> dict[str, int]:
    return {c["id"]: len(c["transcript"]) for c in checks}


@pytest.mark.slow
def test_a_seeded_server_costs_no_more_exchanges_than_an_empty_one(tmp_path: Path) -> None:
    empty_target = scim_target(tmp_path / "empty")
    seeded_target = scim_target(tmp_path / "seeded", accounts=USERS)
    seeded_target.write_text(  # the groups option goes beside scim_users
        seeded_target.read_text().replace(
            f"scim_users = {USERS}\n", f"scim_users = {USERS}\nscim_groups = {GROUPS}\n"
        )
    )
    assert f"scim_groups = {GROUPS}" in seeded_target.read_text()
    with ThreadPoolExecutor(max_workers=2) as pool:
        empty_run, seeded_run = pool.map(run, (empty_target, seeded_target))
    assert_ready(empty_run)
    assert_ready(seeded_run)
    empty = [c for c in empty_run.readiness["checks"] if c["protocol"] == "scim"]
    seeded = [c for c in seeded_run.readiness["checks"] if c["protocol"] == "scim"]

    # Okta's import read every page of the seeded server (the one place that may), 100 at
    # a time, and the empty server's single page.
    extra: Counter[str] = Counter()
    for check_id, kind in IMPORTS.items():
        check = next(c for c in seeded if c["id"] == check_id)
        pages = [e for e in check["transcript"] if list_page(e) is not None]
        starts = [list_page(e) for e in pages]
        total = re.search(r'"totalResults": *(\d+)', pages[0]["response_body"])
        assert total, pages[0]["response_body"][:300]
        held = int(total[1])
        assert held > (USERS if kind == "Users" else GROUPS)
        assert starts == list(range(1, held + 1, 100)), (check_id, starts)
        extra[check_id] = math.ceil(held / 100) - 1
    # The pagination check reads a few pages whatever the server holds (then stops).
    check = next(c for c in seeded if c["id"] == PAGINATION)
    pages = [s for e in check["transcript"] if (s := list_page(e)) is not None]
    assert len(pages) == PAGING_SMALL + PAGING_FULL + 1, pages  # + its one page of 100
    assert "Stopped after" in "\n".join(check["notes"])
    before = next(c for c in empty if c["id"] == PAGINATION)
    extra[PAGINATION] = len(pages) - sum(
        1 for e in before["transcript"] if list_page(e) is not None
    )

    # Every other check (the data-safety check's session-end sweep included) makes exactly
    # the exchanges it makes against an empty server, and lists no page beyond the first.
    counted, baseline = exchanges(seeded), exchanges(empty)
    assert set(counted) == set(baseline)
    assert {k: n - extra[k] for k, n in counted.items()} == baseline, (counted, baseline)
    for check in seeded:
        if check["id"] in (*IMPORTS, PAGINATION):
            continue
        beyond = [e["url"] for e in check["transcript"] if (list_page(e) or 1) > 1]
        assert not beyond, (check["id"], beyond)
    safety = next(c for c in seeded if c["id"] == "scim.leaves_no_test_data_behind")
    assert safety["outcome"] == "passed"
    assert not any(list_page(e) is not None for e in safety["transcript"])
