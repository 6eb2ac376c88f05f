"""Group Push as Okta sends it: create, add members, remove members (``members[value eq
"…"]``), rename (path-less replace carrying the id), a membership update (the rename PATCH
Okta sends with it, then every change in one PATCH), delete; import of groups. Each change
is read back: a server that answers success without applying it fails."""

from __future__ import annotations

import pytest

from oin_conformance.failures import fail
from oin_conformance.roles.scim import ScimResult

from .okta import (
    ScimCheck,
    expect_list,
    expect_status,
    expect_valid,
    okta_import,
    quiet_server,
)


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
def test_group_push_updates_membership_in_one_patch(scim: ScimCheck) -> None:
    """Okta's membership update: the rename PATCH Okta sends with every membership change
    (the group's own name, with its id), then one PATCH with several operations — a remove
    per member leaving, an add for those joining — all applied."""
    scim.require("group_push")
    (leaver, leaves), (stayer, stays), (joiner, joins) = [scim.must_create_user() for _ in range(3)]
    name, gid = scim.must_create_group()
    added = scim.client.add_members(gid, [(leaves, leaver.user_name), (stays, stayer.user_name)])
    expect_status(added, (200, 204), "Adding members is not accepted", "See the add check.")
    rename, members = scim.client.update_membership(
        gid, name, add=[(joins, joiner.user_name)], remove=[leaves]
    )
    expect_status(
        rename,
        (200, 204),
        "The rename PATCH Okta sends with every membership update is refused",
        'Accept PATCH {"op": "replace", "value": {"id": "<id>", "displayName": "<name>"}} '
        "when the name does not change (Okta sends it with every membership update; a "
        "uniqueness check must not count the group itself).",
    )
    expect_status(
        members,
        (200, 204),
        "A membership update with several operations is refused",
        'Accept one PATCH whose Operations remove members (path members[value eq "<id>"]) '
        "and add others, in that order.",
    )
    back = _read_group(scim, gid, "read back the membership update")
    ids = set(_member_ids(back))
    wanted = {stays, joins}
    if ids != wanted or back.json_object.get("displayName") != name:
        raise fail(
            "The membership update is answered but not wholly applied",
            seen=f"members {sorted(ids)}, displayName {back.json_object.get('displayName')!r} "
            f"after removing {leaves} and adding {joins} in one PATCH (answered "
            f"{members.status})\n\n{back.seen()}",
            expected=f"members exactly {sorted(wanted)}, displayName {name!r}",
            fix="Apply every operation of a PATCH, in order (RFC 7644 §3.5.2: all of them, "
            "or none with an error), not only the first.",
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
    """Import Groups: GET /Groups?startIndex=1&count=100, then startIndex=101, … as Okta
    pages, lists every group (the one this check pushed included) exactly once."""
    scim.require("import_groups")
    if scim.claims("group_push"):
        name, gid = scim.must_create_group()
    else:
        name, gid = "", ""
    with quiet_server(scim):
        done = okta_import(scim, "Group")
        scim.transcript.note(
            f"Okta's group import read {done.pages} page(s): {len(done.ids)} groups, "
            f"totalResults {done.total!r}"
        )
        if gid and done.complete and gid not in done.ids:
            raise fail(
                "An existing group is not listed",
                seen=f"{len(done.ids)} groups on {done.pages} page(s), not {gid}\n\n"
                + scim.transcript.summary(3),
                expected=f"group {name!r} ({gid}) in the list",
                fix="List every group in GET /Groups.",
            )
