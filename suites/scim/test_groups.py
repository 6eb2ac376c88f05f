"""Group Push as Okta sends it: create, add members, remove members (``members[value eq
"…"]``), rename (path-less replace carrying the id), delete; import of groups. Each change
is read back: a server that answers success without applying it fails."""

from __future__ import annotations

import pytest

from oin_conformance.failures import fail
from oin_conformance.roles.scim import ScimResult

from .okta import ScimCheck, expect_list, expect_status, expect_valid


def _member_ids(result: ScimResult) -> list[str]:
    members = result.json_object.get("members") or []
    return [str(m.get("value")) for m in members if isinstance(m, dict)]


def _read_group(scim: ScimCheck, gid: str, why: str) -> ScimResult:
    back = scim.client.get_group(gid, note=why)
    expect_status(back, 200, "The pushed group cannot be read", "Serve GET /Groups/{id}.")
    expect_valid(back, "Group")
    return back


@pytest.mark.oin(requirement="SCIM-GROUPS", severity="blocking")
def test_group_push_creates_group(scim: ScimCheck) -> None:
    """POST /Groups answers 201 with an id; the group reads back and is found by displayName."""
    scim.require("group_push")
    name = scim.group_name()
    result = scim.client.create_group(name, note="Group Push: create")
    expect_status(
        result,
        201,
        "Pushing a new group does not answer 201",
        'Accept POST /Groups {"schemas": [...Group], "displayName": "...", "members": []} '
        "and answer 201 with the group and its id.",
    )
    expect_valid(result, "Group")
    if not result.id or result.json_object.get("displayName") != name:
        raise fail(
            "The created group lacks its id or displayName",
            seen=result.seen(),
            expected=f"an id and displayName {name!r}",
            fix="Return the created group.",
        )
    back = _read_group(scim, result.id, "read back the pushed group")
    if back.json_object.get("displayName") != name:
        raise fail(
            "The pushed group reads back with another name",
            seen=back.seen(),
            expected=f"displayName {name!r}",
            fix="Store displayName as sent.",
        )
    found = scim.client.find_group(name, note="Okta links groups by displayName")
    expect_status(found, 200, "The displayName lookup does not answer 200", "Serve the filter.")
    expect_list(scim, found)
    if [r.get("id") for r in found.resources()] != [result.id]:
        raise fail(
            "The group is not found by displayName",
            seen=found.seen(),
            expected=f"exactly the group {result.id}",
            fix='Implement filter=displayName eq "<name>" on GET /Groups.',
        )


@pytest.mark.oin(requirement="SCIM-GROUPS", severity="blocking")
def test_group_push_adds_members(scim: ScimCheck) -> None:
    """PATCH add members (value + display, no type) is applied and read back."""
    scim.require("group_push")
    people = [scim.must_create_user() for _ in range(2)]
    _, gid = scim.must_create_group()
    result = scim.client.add_members(gid, [(uid, p.user_name) for p, uid in people])
    expect_status(
        result,
        (200, 204),
        "Adding members to a pushed group is not accepted",
        'Accept PATCH {"op": "add", "path": "members", "value": [{"value", "display"}]}.',
    )
    back = _read_group(scim, gid, "read back the members")
    missing = {uid for _, uid in people} - set(_member_ids(back))
    if missing:
        raise fail(
            "Added members are not in the group",
            seen=back.seen(),
            expected=f"members including {sorted(missing)}",
            fix="Apply PATCH add on members.",
        )


@pytest.mark.oin(requirement="SCIM-GROUPS", severity="blocking")
def test_group_push_removes_members(scim: ScimCheck) -> None:
    """PATCH remove with path members[value eq "<id>"] removes exactly that member."""
    scim.require("group_push")
    people = [scim.must_create_user() for _ in range(2)]
    _, gid = scim.must_create_group()
    added = scim.client.add_members(gid, [(uid, p.user_name) for p, uid in people])
    expect_status(added, (200, 204), "Adding members is not accepted", "See the add check.")
    gone, stays = people[0][1], people[1][1]
    result = scim.client.remove_members(gid, [gone])
    expect_status(
        result,
        (200, 204),
        "Removing a member is not accepted",
        'Accept PATCH {"op": "remove", "path": "members[value eq \\"<id>\\"]"}.',
    )
    back = _read_group(scim, gid, "read back the members")
    ids = _member_ids(back)
    if gone in ids or stays not in ids:
        raise fail(
            "The member removal is answered but not applied",
            seen=f"after removing {gone} (answered {result.status}):\n{back.seen()}",
            expected=f"members without {gone}, still with {stays}",
            fix='Apply the remove operation with the members[value eq "…"] path filter.',
        )


@pytest.mark.oin(requirement="SCIM-GROUPS", severity="blocking")
def test_group_push_renames_group(scim: ScimCheck) -> None:
    """Okta's rename (path-less replace of {id, displayName}) changes the displayName."""
    scim.require("group_push")
    _, gid = scim.must_create_group()
    new = scim.group_name()
    result = scim.client.rename_group(gid, new)
    expect_status(
        result,
        (200, 204),
        "Renaming a pushed group is not accepted",
        'Accept PATCH {"op": "replace", "value": {"id": "<id>", "displayName": "<new>"}} '
        "(the value repeats the group's own id).",
    )
    back = _read_group(scim, gid, "read back the new name")
    if back.json_object.get("displayName") != new:
        raise fail(
            "The group rename is answered but not applied",
            seen=f"rename answered {result.status}:\n{back.seen()}",
            expected=f"displayName {new!r}",
            fix="Apply a path-less replace whose value carries displayName.",
        )


@pytest.mark.oin(requirement="SCIM-GROUPS", severity="blocking")
def test_group_push_deletes_group(scim: ScimCheck) -> None:
    """DELETE /Groups/{id} answers 204 and the group is gone (404 afterwards)."""
    scim.require("group_push")
    _, gid = scim.must_create_group()
    result = scim.client.delete_group(gid, note="Group Push: unlink and delete in the app")
    expect_status(
        result,
        (200, 204),
        "Deleting a pushed group is not accepted",
        "Answer DELETE /Groups/{id} with 204.",
    )
    back = scim.client.get_group(gid, note="is the group gone?")
    if back.status != 404:
        raise fail(
            "The deleted group is still there",
            seen=back.seen(),
            expected="404 for the deleted group",
            fix="Delete the group (or answer 404 for it afterwards).",
        )


@pytest.mark.oin(requirement="SCIM-GROUPS", severity="blocking")
def test_imports_groups(scim: ScimCheck) -> None:
    """Import Groups: GET /Groups?startIndex=1&count=100 lists the groups, with members."""
    scim.require("import_groups")
    if scim.claims("group_push"):
        name, gid = scim.must_create_group()
    else:
        name, gid = "", ""
    result = scim.client.list_groups(1, 100, note="Okta imports groups")
    expect_status(result, 200, "GET /Groups does not answer 200", "Serve GET /Groups.")
    data = expect_list(scim, result)
    ids = [r.get("id") for r in result.resources()]
    if gid and gid not in ids and data.get("totalResults", 0) <= 100:
        raise fail(
            "An existing group is not listed",
            seen=result.seen(),
            expected=f"group {name!r} ({gid}) in the list",
            fix="List every group in GET /Groups.",
        )
