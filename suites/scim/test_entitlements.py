"""Okta's Entitlements test, for "SCIM 2.0 with entitlements" apps: every entitlement
endpoint the target declares (``[scim] entitlements``) answers one page of one entitlement,
as Okta's "Okta SCIM 2.0 Entitlements Test" asserts (``shared/reference/scim.md`` §2.4)."""

from __future__ import annotations

from typing import Any

import pytest

from oin_conformance.failures import fail
from oin_conformance.roles.scim import LIST_URN, ScimResult

from .okta import ScimCheck, is_int, unreachable


def _problems(result: ScimResult) -> list[str]:
    """What Okta's Entitlements test would refuse in one endpoint's answer."""
    if result.status != 200:
        return [f"answered HTTP {result.status}, not 200"]
    data: Any = result.data
    if not isinstance(data, dict):
        return ["the answer is not a JSON object"]
    found = []
    if LIST_URN not in (data.get("schemas") or []):
        found.append(f"schemas {data.get('schemas')!r} lacks {LIST_URN}")
    for key in ("startIndex", "totalResults"):
        if not is_int(data.get(key)):
            found.append(f"{key} is {data.get(key)!r}, not a JSON number")
    if data.get("itemsPerPage") != 1 or not is_int(data.get("itemsPerPage")):
        found.append(f"itemsPerPage is {data.get('itemsPerPage')!r} for count=1 (Okta wants 1)")
    resources = data.get("Resources")
    if not isinstance(resources, list) or not resources:
        found.append("Resources is missing or empty (Okta's test needs one entitlement)")
    elif len(resources) != 1:
        found.append(f"{len(resources)} resources for count=1")
    elif not (isinstance(resources[0], dict) and isinstance(resources[0].get("id"), str)):
        found.append("the entitlement has no id (Okta grants entitlements by id)")
    return found


@pytest.mark.oin(requirement="SCIM-ENTITLEMENTS", severity="blocking")
def test_answers_okta_entitlements_test(scim: ScimCheck) -> None:
    """Okta's Entitlements test, once per declared endpoint: GET
    {endpoint}?count=1&startIndex=1 answers 200 with a ListResponse holding one entitlement,
    itemsPerPage 1, and numeric startIndex and totalResults."""
    endpoints = scim.target.entitlements
    if not endpoints:
        pytest.skip(
            "the target declares no [scim] entitlements: Okta runs its Entitlements test only "
            'for "SCIM 2.0 with entitlements" apps (list their endpoints to test them, e.g. '
            'entitlements = ["/Roles"])'
        )
    problems: list[str] = []
    seen: list[str] = []
    for endpoint in endpoints:
        result = scim.client.entitlements_page(endpoint)
        stopped = unreachable(result)
        if stopped is not None:
            raise stopped
        found = _problems(result)
        problems += [f"{endpoint}: {p}" for p in found]
        if found:
            seen.append(result.seen(600))
    if problems:
        raise fail(
            "Okta's Entitlements test fails",
            seen="\n".join(problems) + "\n\n" + "\n\n".join(seen),
            expected="for each endpoint: HTTP 200, a ListResponse (schemas "
            f'["{LIST_URN}"]) with one entitlement in Resources, itemsPerPage 1, and '
            "startIndex and totalResults as JSON numbers",
            fix="Serve each entitlement endpoint as a paged SCIM list: honour count (one "
            "resource for count=1), give the counters as integers, and keep at least one "
            "entitlement there for Okta's test.",
        )
