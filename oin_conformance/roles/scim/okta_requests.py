"""What Okta sends: the request bodies of its provisioning engine, SCIM 2.0 and 1.1
(``shared/reference/scim.md`` §1)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from scim2_models import (
    Group,
    PatchOp,
    PatchOperation,
    User,
)

from oin_conformance.roles.scim.common import (
    CORE_1,
    ENTERPRISE_1,
    GROUP_URN,
    PATCH_URN,
    USER_URN,
    Kind,
)

# --- what Okta sends: bodies -----------------------------------------------------------------


@dataclass(frozen=True)
class Person:
    """A test user as Okta's app-user profile would carry it."""

    user_name: str
    given_name: str
    family_name: str
    email: str
    external_id: str
    password: str

    @property
    def display_name(self) -> str:
        return f"{self.given_name} {self.family_name}"


def create_user_body(person: Person, version: str = "2.0") -> dict[str, Any]:
    """Okta's ``POST /Users`` body, fields in Okta's documented order (reference §1.4)."""
    return {
        "schemas": [USER_URN if version == "2.0" else CORE_1],
        "userName": person.user_name,
        "name": {"givenName": person.given_name, "familyName": person.family_name},
        "emails": [{"primary": True, "value": person.email, "type": "work"}],
        "displayName": person.display_name,
        "locale": "en-US" if version == "2.0" else "en_US",
        "externalId": person.external_id,
        "groups": [],
        "password": person.password,
        "active": True,
    }


#: The fields of the SPEC test's create body, in its order (reference §2.1 step 6).
SPEC_CREATE_FIELDS = ("schemas", "userName", "name", "emails", "displayName", "active")


def spec_create_user_body(person: Person, version: str = "2.0") -> dict[str, Any]:
    """The ``POST /Users`` body of Okta's SCIM SPEC test (2.0 step 6, 1.1 step 12): no
    ``password``, ``locale``, ``externalId`` or ``groups``, unlike the provisioning engine's
    (reference §2.1)."""
    engine = create_user_body(person, version)
    return {key: engine[key] for key in SPEC_CREATE_FIELDS}


def profile_update_body(
    current: Mapping[str, Any], changes: Mapping[str, Any], version: str = "2.0"
) -> dict[str, Any]:
    """Okta's ``PUT /Users/{id}``: the object it just read, Okta-mastered attributes replaced.

    Okta echoes ``id``, ``meta`` and everything else the server returned and adds
    ``groups: []`` (reference §1.3 step 5). ``changes`` are top-level attributes; a ``name``
    change is merged into the existing ``name`` object.
    """
    body: dict[str, Any] = json.loads(json.dumps(dict(current)))
    for key, value in changes.items():
        if isinstance(value, Mapping) and isinstance(body.get(key), dict):
            body[key] = {**body[key], **value}
        else:
            body[key] = value
    body.setdefault("groups", [])
    if version == "1.1":
        body["schemas"] = [CORE_1] + [s for s in body.get("schemas", []) if s == ENTERPRISE_1]
    return body


def active_patch_body(active: bool, version: str = "2.0", user_id: str = "") -> dict[str, Any]:
    """Okta's deactivate / reactivate PATCH: path-less ``replace`` with a value object (2.0),
    or the 1.1 partial object ``{"schemas", "id", "active"}``."""
    if version == "1.1":
        return {"schemas": [CORE_1], "id": user_id, "active": active}
    return {"schemas": [PATCH_URN], "Operations": [{"op": "replace", "value": {"active": active}}]}


def create_group_body(display_name: str, version: str = "2.0") -> dict[str, Any]:
    """Okta's Group Push ``POST /Groups``."""
    if version == "1.1":
        return {"schemas": [CORE_1], "displayName": display_name}
    return {"schemas": [GROUP_URN], "displayName": display_name, "members": []}


def add_members_body(members: list[tuple[str, str]], version: str = "2.0") -> dict[str, Any]:
    """Okta's membership add: ``members`` entries ``{value, display}`` (no type/$ref)."""
    if version == "1.1":
        return {"schemas": [CORE_1], "members": [{"value": mid} for mid, _ in members]}
    value = [{"value": mid, "display": display} for mid, display in members]
    return {
        "schemas": [PATCH_URN],
        "Operations": [{"op": "add", "path": "members", "value": value}],
    }


def remove_members_body(member_ids: list[str], version: str = "2.0") -> dict[str, Any]:
    """Okta's membership removal: one ``remove`` per member with ``members[value eq "…"]``
    (2.0), or 1.1 members entries marked ``"operation": "delete"``."""
    if version == "1.1":
        return {
            "schemas": [CORE_1],
            "members": [{"value": mid, "operation": "delete"} for mid in member_ids],
        }
    ops = [{"op": "remove", "path": f'members[value eq "{mid}"]'} for mid in member_ids]
    return {"schemas": [PATCH_URN], "Operations": ops}


def membership_patch_body(
    add: list[tuple[str, str]], remove: list[str], version: str = "2.0"
) -> dict[str, Any]:
    """Okta's Group Push membership update: every change in one PATCH, in Okta's order —
    one ``remove`` per member leaving, then one ``add`` of the members joining (2.0); SCIM
    1.1: one ``members`` list, leavers marked ``"operation": "delete"`` (reference §1.3
    step 10, §1.6)."""
    if version == "1.1":
        members = [{"value": mid, "operation": "delete"} for mid in remove]
        members += [{"value": mid} for mid, _ in add]
        return {"schemas": [CORE_1], "members": members}
    ops: list[dict[str, Any]] = [
        {"op": "remove", "path": f'members[value eq "{mid}"]'} for mid in remove
    ]
    if add:
        value = [{"value": mid, "display": display} for mid, display in add]
        ops.append({"op": "add", "path": "members", "value": value})
    return {"schemas": [PATCH_URN], "Operations": ops}


def rename_group_body(group_id: str, display_name: str, version: str = "2.0") -> dict[str, Any]:
    """Okta's rename: path-less ``replace`` whose value carries the read-only ``id`` too."""
    if version == "1.1":
        return {"schemas": [CORE_1], "id": group_id, "displayName": display_name}
    return {
        "schemas": [PATCH_URN],
        "Operations": [{"op": "replace", "value": {"id": group_id, "displayName": display_name}}],
    }


def typed_patch(body: Mapping[str, Any], kind: Kind) -> PatchOp[Any]:
    """Okta's 2.0 PATCH body as a scim2-models PatchOp (proves the shape is valid SCIM)."""
    model = User if kind == "User" else Group
    ops = [PatchOperation[model](**op) for op in body["Operations"]]  # type: ignore[valid-type]
    return PatchOp[model](operations=ops)  # type: ignore[valid-type]
