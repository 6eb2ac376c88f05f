"""What the SCIM checks share: one check's Okta client, test people, and grading helpers."""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pytest

from oin_conformance.failures import CheckFailure, excerpt, fail
from oin_conformance.roles.scim import (
    CORE_1,
    ERROR_URN,
    LIST_URN,
    USER_URN,
    Person,
    ScimClient,
    ScimResult,
    create_user_body,
)
from oin_conformance.target import ScimTarget
from oin_conformance.transcript import Transcript
from oin_conformance.wiring.scim import ScimSession

FEATURE_WORDS = {
    "create": "Create Users",
    "update": "Update User Attributes",
    "deactivate": "Deactivate Users",
    "reactivate": "Deactivate Users (reactivation)",
    "import_users": "Import Users",
    "import_groups": "Import Groups",
    "group_push": "Push Groups",
}


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


@dataclass
class ScimCheck:
    """One check's view of the SCIM server, through Okta's eyes."""

    client: ScimClient
    session: ScimSession
    target: ScimTarget
    rng: random.Random
    transcript: Transcript

    @property
    def version(self) -> str:
        return self.target.version

    @property
    def list_urn(self) -> str:
        return LIST_URN if self.version == "2.0" else CORE_1

    @property
    def user_urn(self) -> str:
        return USER_URN if self.version == "2.0" else CORE_1

    def claims(self, feature: str) -> bool:
        return feature in self.target.features

    def require(self, *features: str) -> None:
        """Skip (with the reason) unless the target claims every feature."""
        for feature in features:
            if not self.claims(feature):
                pytest.skip(
                    f"the target does not claim '{feature}' ({FEATURE_WORDS.get(feature, feature)}"
                    " in Okta's provisioning settings): add it to [scim] features to test it"
                )

    # -- test data under the run's prefix -------------------------------------------------

    def person(self) -> Person:
        digits = "".join(self.rng.choice("0123456789") for _ in range(3))
        letters = "".join(self.rng.choice("abcdefghijkmnopqrstuvwxyz") for _ in range(6))
        given = f"Runscope{digits}"
        family = f"T{letters}{digits}"
        user_name = f"{self.session.ledger.prefix}-{given}.{family}@example.com"
        external = "00u" + "".join(
            self.rng.choice("abcdefghijkmnopqrstuvwxyz0123456789") for _ in range(17)
        )
        password = "".join(self.rng.choice("abcdefghijkmnopqrstuvwxyz0123456789") for _ in range(8))
        return Person(user_name, given, family, user_name, external, password)

    def group_name(self) -> str:
        tag = "".join(self.rng.choice("abcdefghijkmnpqrstuvwxyz23456789") for _ in range(6))
        return f"{self.session.ledger.prefix}-Group-{tag}"

    def create_user(self, person: Person | None = None) -> tuple[Person, ScimResult]:
        """Okta's assignment: look the userName up, then POST Okta's body."""
        person = person or self.person()
        self.client.find_user(person.user_name, note="Okta looks the user up before creating")
        result = self.client.create_user(
            create_user_body(person, self.version), note="Okta creates the user"
        )
        return person, result

    def must_create_user(self) -> tuple[Person, str]:
        """A user this check needs (any 2xx with an id will do; the create checks grade)."""
        person, result = self.create_user()
        if not (result.ok and result.id):
            raise fail(
                "Could not create the test user this check needs",
                seen=result.seen(),
                expected="a 2xx answer to POST /Users carrying the new user's id",
                fix="Make user creation work first (see the create check).",
            )
        return person, result.id

    def must_create_group(self, name: str | None = None) -> tuple[str, str]:
        name = name or self.group_name()
        result = self.client.create_group(name, note="Group Push: create the group")
        if not (result.ok and result.id):
            raise fail(
                "Could not create the test group this check needs",
                seen=result.seen(),
                expected="a 2xx answer to POST /Groups carrying the new group's id",
                fix="Make group creation work first (see scim.group_push_creates_group).",
            )
        return name, result.id


# --- grading helpers ---------------------------------------------------------------------------


def unreachable(result: ScimResult) -> CheckFailure | None:
    if result.status is None:
        return fail(
            "The SCIM server did not answer",
            seen=result.seen(),
            expected="an HTTP response within the timeout",
            fix="Check [scim] base_url and that the SCIM server is running; Okta gives up "
            "after 60 s.",
        )
    return None


def expect_status(result: ScimResult, wanted: int | tuple[int, ...], title: str, fix: str) -> None:
    wanted_t = (wanted,) if isinstance(wanted, int) else wanted
    problem = unreachable(result)
    if problem:
        raise problem
    if result.status not in wanted_t:
        raise fail(
            title,
            seen=result.seen(),
            expected="HTTP " + " or ".join(str(w) for w in wanted_t),
            fix=fix,
        )


def expect_valid(result: ScimResult, what: str) -> None:
    """scim2-client's checking layer must accept the response as ``what``."""
    if result.problem:
        raise fail(
            f"The response is not a valid SCIM {what}",
            seen=f"{result.seen()}\n\nscim2-client: {excerpt(result.problem, 1200)}",
            expected=f"a {what} that validates against the SCIM schemas (RFC 7643)",
            fix=f"Return a well-formed {what}; the validation message names the attribute.",
        )


def expect_list(check: ScimCheck, result: ScimResult, what: str = "ListResponse") -> dict[str, Any]:
    """A valid ListResponse with the right schema URN and integer counters; returns the JSON."""
    expect_valid(result, what)
    data = result.json_object
    schemas = data.get("schemas") or []
    if check.list_urn not in schemas:
        raise fail(
            "The list response lacks the ListResponse schema",
            seen=result.seen(),
            expected=f'"schemas": ["{check.list_urn}"]',
            fix="Put the ListResponse schema URN in every list response.",
        )
    not_int = [
        k
        for k in ("totalResults", "startIndex", "itemsPerPage")
        if k in data and not is_int(data[k])
    ]
    missing = [k for k in ("totalResults",) if k not in data]
    if not_int or missing:
        raise fail(
            "The list response's counters are not JSON integers",
            seen=result.seen(),
            expected='totalResults, startIndex and itemsPerPage as JSON numbers (1, not "1")',
            fix="Serialize the counters as integers; Okta's import reads them as numbers.",
        )
    return data


def expect_error_body(result: ScimResult, status: int, check: ScimCheck) -> None:
    """Okta's SPEC test: Error schema, non-empty detail, status equal to the HTTP status."""
    data = result.json_object
    if check.version == "1.1":
        errors = data.get("Errors")
        ok = (
            isinstance(errors, list)
            and errors
            and isinstance(errors[0], dict)
            and (errors[0].get("description"))
        )
        if not ok:
            raise fail(
                f"The {status} answer carries no SCIM 1.1 error",
                seen=result.seen(),
                expected='{"Errors": [{"description": "...", "code": ' + str(status) + "}]}",
                fix="Return SCIM 1.1 errors as Errors[] with description and code.",
            )
        return
    schemas = data.get("schemas") or []
    detail = data.get("detail")
    got_status = str(data.get("status", ""))
    if ERROR_URN not in schemas or not detail or got_status != str(status):
        raise fail(
            f"The {status} answer is not a SCIM Error",
            seen=result.seen(),
            expected=(
                f'{{"schemas": ["{ERROR_URN}"], "detail": "<what went wrong>", "status": {status}}}'
            ),
            fix="Answer errors with the SCIM Error body (RFC 7644 §3.12); Okta shows "
            "'detail' to the admin and its SPEC test asserts all three fields.",
        )


def field(data: Mapping[str, Any], path: str) -> Any:
    """``name.givenName`` / ``emails[0].value`` out of a JSON object (None when absent)."""
    node: Any = data
    for part in path.replace("]", "").split("."):
        name, _, index = part.partition("[")
        if not isinstance(node, Mapping):
            return None
        node = node.get(name)
        if index:
            if not isinstance(node, list) or len(node) <= int(index):
                return None
            node = node[int(index)]
    return node


def missing_fields(data: Mapping[str, Any], paths: list[str]) -> list[str]:
    return [p for p in paths if field(data, p) in (None, "", [], {})]


SPEC_USER_FIELDS = [
    "id",
    "name.familyName",
    "name.givenName",
    "userName",
    "active",
    "emails[0].value",
]
