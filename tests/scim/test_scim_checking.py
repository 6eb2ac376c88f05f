"""The SCIM client's use of scim2-client and scim2-models, on Okta-shaped answers, without a
server: every response type the suite expects, the tolerance policy, Okta's PATCH bodies.

Needs only the plugin's runtime dependencies, so the lowest-versions CI step runs it: it is
what proves the lower bounds of scim2-client and scim2-models.
"""

from __future__ import annotations

from typing import Any

import pytest
from scim2_models import Context, Error, Group, ListResponse, PatchOp, User

from oin_conformance.roles.scim import (
    CORE_1,
    ENTERPRISE_URN,
    GROUP_URN,
    LIST_URN,
    USER_URN,
    active_patch_body,
    add_members_body,
    check_payload,
    remove_members_body,
    rename_group_body,
    typed_patch,
)

USER = {
    "schemas": [USER_URN, ENTERPRISE_URN],
    "id": "00u1",
    "userName": "oin-test-abc-ada@example.com",
    "name": {"givenName": "Ada", "familyName": "Lovelace"},
    "emails": [{"value": "oin-test-abc-ada@example.com", "type": "work", "primary": True}],
    "active": True,
    ENTERPRISE_URN: {"employeeNumber": "42"},
    "meta": {"resourceType": "User", "location": "https://app.example/scim/v2/Users/00u1"},
}
GROUP = {
    "schemas": [GROUP_URN],
    "id": "00g1",
    "displayName": "oin-test-abc-Group",
    "members": [{"value": "00u1", "display": "Ada Lovelace"}],
}


def listing(*resources: dict[str, Any]) -> dict[str, Any]:
    return {
        "schemas": [LIST_URN],
        "totalResults": len(resources),
        "startIndex": 1,
        "itemsPerPage": len(resources),
        "Resources": list(resources),
    }


@pytest.mark.parametrize(
    ("payload", "status", "expect", "method", "model"),
    [
        (USER, 201, "user", "POST", User),
        (USER, 200, "user", "GET", User),
        (USER, 200, "user", "PUT", User),
        (USER, 200, "user", "PATCH", User),
        (listing(USER), 200, "users", "GET", ListResponse),
        (listing(), 200, "users", "GET", ListResponse),
        (GROUP, 201, "group", "POST", Group),
        (GROUP, 200, "group", "PATCH", Group),
        (listing(GROUP), 200, "groups", "GET", ListResponse),
    ],
    ids=["create", "read", "replace", "patch", "list", "empty_list", "group", "group_patch",
         "group_list"],
)  # fmt: skip
def test_okta_shaped_answers_are_read_as_scim_models(
    payload: dict[str, Any], status: int, expect: Any, method: str, model: type
) -> None:
    found, problem = check_payload(payload, status, {}, expect, method, "2.0")
    assert problem == ""
    assert isinstance(found, model)
    if isinstance(found, ListResponse) and payload["Resources"]:
        first = found.resources[0]  # type: ignore[index]
        assert first.id == payload["Resources"][0]["id"]


def test_the_enterprise_extension_is_read() -> None:
    found, _ = check_payload(USER, 200, {}, "user", "GET", "2.0")
    assert found[ENTERPRISE_URN].employee_number == "42"


def test_unknown_attributes_are_tolerated_as_okta_does() -> None:
    """Okta ignores attributes it does not know; so do the checks (the policy)."""
    payload = {**USER, "favouriteColour": "teal", "urn:example:custom:1.0:User": {"x": 1}}
    payload["schemas"] = [USER_URN, ENTERPRISE_URN, "urn:example:custom:1.0:User"]
    found, problem = check_payload(payload, 200, {}, "user", "GET", "2.0")
    assert problem == "" and isinstance(found, User)


def test_a_scim_error_is_read_as_one() -> None:
    error = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"], "status": "409",
             "scimType": "uniqueness", "detail": "userName is taken"}  # fmt: skip
    found, problem = check_payload(error, 409, {}, "user", "POST", "2.0")
    assert problem == "" and isinstance(found, Error) and found.scim_type == "uniqueness"


@pytest.mark.parametrize(
    ("payload", "fragment"),
    [
        ({**USER, "emails": [{"value": "not an email"}]}, "Validation"),
        ({**USER, "active": "maybe"}, "active"),
        ([USER], "not a JSON object"),
    ],
    ids=["bad_email", "not_a_boolean", "array"],
)
def test_broken_answers_are_problems_not_crashes(payload: Any, fragment: str) -> None:
    found, problem = check_payload(payload, 200, {}, "user", "GET", "2.0")
    assert found is None and fragment.lower() in problem.lower()


def test_scim_1_1_answers_are_lifted_and_read() -> None:
    v1 = {"schemas": [CORE_1], "id": "1", "userName": "u@example.com", "active": True}
    found, problem = check_payload(v1, 200, {}, "user", "GET", "1.1")
    assert problem == "" and isinstance(found, User) and found.user_name == "u@example.com"
    found, problem = check_payload(
        {"schemas": [CORE_1], "totalResults": 1, "Resources": [v1]}, 200, {}, "users", "GET", "1.1"
    )
    assert problem == "" and isinstance(found, ListResponse)


@pytest.mark.parametrize(
    ("body", "kind"),
    [
        (active_patch_body(False), "User"),
        (active_patch_body(True), "User"),
        (add_members_body([("u1", "Ada"), ("u2", "Alan")]), "Group"),
        (remove_members_body(["u1", "u2"]), "Group"),
        (rename_group_body("g1", "Renamed"), "Group"),
    ],
    ids=["deactivate", "reactivate", "add_members", "remove_members", "rename"],
)
def test_okta_patch_bodies_are_scim_patchops(body: dict[str, Any], kind: str) -> None:
    patch = typed_patch(body, kind)  # type: ignore[arg-type]
    assert isinstance(patch, PatchOp)
    assert patch.model_dump(scim_ctx=Context.RESOURCE_PATCH_REQUEST) == body
