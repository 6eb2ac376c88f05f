"""Okta's connection test and the read-only steps of its SCIM SPEC test: list and read
users, the Groups endpoint (as the connection test and as the SPEC test read it), 401 for
missing or bad credentials, 404 for unknown ids. SPEC steps go out with the SPEC test's own
headers (its User-Agent, a Content-Type on GETs), the connection test with the provisioning
engine's."""

from __future__ import annotations

from typing import Any

import pytest

from oin_conformance.failures import fail, inconclusive

from .okta import (
    SPEC_USER_FIELDS,
    ScimCheck,
    expect_error_body,
    expect_list,
    expect_status,
    expect_valid,
    is_int,
    missing_fields,
    unreachable,
)

#: Okta SPEC test steps 4 and 12: ids no server should know.
UNKNOWN_IDS = ("010101001010101011001010101011", "00919288221112222")


@pytest.mark.oin(requirement="SCIM-USERS-ENDPOINT", severity="blocking")
def test_answers_okta_connection_test(scim: ScimCheck) -> None:
    """Okta's "Test API Credentials" works: GET /Users?startIndex=1&count=2, then GET
    /Groups?startIndex=1&count=100, each a ListResponse (the groups read is graded when the
    target claims group_push or import_groups)."""
    users, groups = scim.client.connection_test()
    expect_status(
        users,
        200,
        "Okta's connection test fails",
        "Serve GET /Users with startIndex and count (and the configured credentials) with a "
        "200 ListResponse; Okta will not save the integration otherwise.",
    )
    expect_list(scim, users)
    if not (scim.claims("group_push") or scim.claims("import_groups")):
        scim.transcript.note(
            f"Okta's connection test also read /Groups (HTTP {groups.status or groups.error}); "
            "not graded: the target claims neither group_push nor import_groups"
        )
        return
    expect_status(
        groups,
        200,
        "Okta's connection test fails at GET /Groups?startIndex=1&count=100",
        "Serve GET /Groups with startIndex and count with a 200 ListResponse (an empty one "
        "when there are no groups); Okta's connection test reads it after the users.",
    )
    expect_list(scim, groups)


@pytest.mark.oin(requirement="SCIM-USERS-ENDPOINT", severity="blocking")
def test_lists_users_with_required_fields(scim: ScimCheck) -> None:
    """SPEC step 1: GET /Users?count=1&startIndex=1 returns a user with id, names, userName,
    active and an email."""
    query = [("count", "1"), ("startIndex", "1")]
    result = scim.client.send(
        "GET", "/Users", query=query, expect="users", note="SPEC step 1", profile="spec"
    )
    expect_status(result, 200, "GET /Users does not answer 200", "Serve GET /Users.")
    data = expect_list(scim, result)
    if not result.resources():
        # Okta's test needs one user on the server; provide our own rather than fail.
        scim.transcript.note("No user on the server: creating one (SPEC test prerequisite)")
        scim.must_create_user()
        result = scim.client.send(
            "GET", "/Users", query=query, expect="users", note="SPEC step 1", profile="spec"
        )
        data = expect_list(scim, result)
    users = result.resources()
    if not users:
        raise fail(
            "GET /Users returns no users although one exists",
            seen=result.seen(),
            expected="Resources with at least one user",
            fix="List the server's users in GET /Users.",
        )
    missing = missing_fields(users[0], SPEC_USER_FIELDS)
    if missing:
        raise fail(
            "Listed users lack attributes Okta's SPEC test requires",
            seen=f"missing or empty: {', '.join(missing)}\n\n{result.seen()}",
            expected="id, name.familyName, name.givenName, userName, active, emails[0].value",
            fix="Return these attributes on every user (Okta maps them to its profile).",
        )
    if data.get("itemsPerPage", 1) > 1 or len(users) > 1:
        raise fail(
            "count=1 is not honoured",
            seen=result.seen(),
            expected="at most one user for count=1",
            fix="Return at most `count` resources per page.",
        )


@pytest.mark.oin(requirement="SCIM-USERS-ENDPOINT", severity="blocking")
def test_reads_listed_user_by_id(scim: ScimCheck) -> None:
    """SPEC step 2: GET /Users/{id} of a listed user returns it with the same id."""
    query = [("count", "1"), ("startIndex", "1")]
    listed = scim.client.send("GET", "/Users", query=query, expect="users", profile="spec")
    expect_status(listed, 200, "GET /Users does not answer 200", "Serve GET /Users.")
    users = listed.resources()
    if not users:
        scim.must_create_user()
        listed = scim.client.send("GET", "/Users", query=query, expect="users", profile="spec")
        users = listed.resources()
    uid = str(users[0].get("id", "")) if users else ""
    if not uid:
        raise fail(
            "The listed user has no id",
            seen=listed.seen(),
            expected="an id on every listed user",
            fix="Return the id of each user.",
        )
    result = scim.client.get_user(uid, note="SPEC step 2", profile="spec")
    expect_status(
        result,
        200,
        "GET /Users/{id} of a listed user does not answer 200",
        "Serve GET /Users/{id}.",
    )
    expect_valid(result, "User")
    missing = missing_fields(result.json_object, SPEC_USER_FIELDS)
    if missing or result.id != uid:
        raise fail(
            "GET /Users/{id} returns an incomplete or different user",
            seen=f"missing: {', '.join(missing) or 'none'}; id {result.id!r} for {uid!r}\n\n"
            + result.seen(),
            expected=f"the user with id {uid} and its attributes",
            fix="Return the whole user, with the same id, from GET /Users/{id}.",
        )


@pytest.mark.oin(requirement="SCIM-READ", severity="blocking")
def test_answers_unknown_user_with_404(scim: ScimCheck) -> None:
    """SPEC steps 4 and 12: GET /Users/{unknown id} answers 404 with a SCIM Error."""
    for uid in UNKNOWN_IDS:
        result = scim.client.get_user(
            uid, note="SPEC test: an id that does not exist", profile="spec"
        )
        expect_status(
            result,
            404,
            "An unknown user id does not answer 404",
            "Answer 404 with a SCIM Error for ids you do not know; Okta reads anything else "
            "as a failure of the whole task.",
        )
        expect_error_body(result, 404, scim)


def _credentials_work(scim: ScimCheck, user_name: str, spec: bool = False) -> None:
    """The control (SPEC §10): the same request with the configured credentials is answered
    (not 401/403); otherwise a 401 without them proves nothing."""
    note = "control: the configured credentials"
    result = (
        scim.spec_find_user(user_name, note=note)
        if spec
        else scim.client.find_user(user_name, note=note)
    )
    problem = unreachable(result)
    if problem is None and result.status is not None and result.status < 400:
        return
    raise inconclusive(
        "The configured credentials are not accepted either, so a 401 proves nothing",
        seen=result.seen(),
        expected="GET /Users?filter=... with the configured credentials answers 200",
        fix="Make scim.answers_okta_connection_test pass first (check [scim.auth] and the "
        "base URL); then run this check again.",
    )


@pytest.mark.oin(requirement="SCIM-AUTH", severity="blocking")
def test_refuses_missing_credentials(scim: ScimCheck) -> None:
    """Requests without an Authorization header are refused with 401 and a SCIM Error."""
    person = scim.person()
    _credentials_work(scim, person.user_name)
    result = scim.client.find_user(person.user_name, authorization="", note="no credentials")
    expect_status(
        result,
        401,
        "The SCIM server answers without credentials",
        "Require the configured credentials on every SCIM endpoint and answer 401 without them.",
    )
    expect_error_body(result, 401, scim)


@pytest.mark.oin(requirement="SCIM-AUTH", severity="blocking")
def test_refuses_bad_credentials(scim: ScimCheck) -> None:
    """SPEC step 11: a wrong Authorization header ('non-token', a wrong token) answers 401."""
    auth = scim.session.auth
    wrong = {
        "header": "wrong-token-0000",
        "bearer": "Bearer wrong-token-0000",
        "basic": "Basic d3Jvbmc6d3Jvbmc=",
        "oauth2": "Bearer wrong-token-0000",
    }[auth.mode]
    caps = scim.person().user_name.upper()  # step 9's request, as Okta's step 11 repeats it
    _credentials_work(scim, caps, spec=True)
    for value in ("non-token", wrong):
        result = scim.spec_find_user(caps, authorization=value, note="SPEC step 11")
        expect_status(
            result,
            401,
            "The SCIM server accepts wrong credentials",
            "Compare the presented token/password with the configured one and answer 401 "
            "when they differ.",
        )
        expect_error_body(result, 401, scim)


@pytest.mark.oin(requirement="SCIM-GROUPS-ENDPOINT", severity="blocking")
def test_answers_groups_endpoint(scim: ScimCheck) -> None:
    """Connection test: GET /Groups?startIndex=1&count=100 answers a ListResponse."""
    if not (scim.claims("group_push") or scim.claims("import_groups")):
        pytest.skip("the target claims neither group_push nor import_groups")
    result = scim.client.list_groups(1, 100, note="Okta's connection test reads groups")
    expect_status(
        result,
        200,
        "GET /Groups does not answer 200",
        "Serve GET /Groups with a ListResponse (an empty one when there are no groups).",
    )
    expect_list(scim, result)


@pytest.mark.oin(requirement="SCIM-GROUPS-ENDPOINT", severity="advisory")
def test_lists_groups_for_okta_spec_test(scim: ScimCheck) -> None:
    """SPEC test "Verify Groups endpoint" (optional; SCIM 2.0 step 10, SCIM 1.1 step 16): a
    plain GET /Groups answers 200 with a Resources array (SCIM 1.1: at least one group)."""
    if not (scim.claims("group_push") or scim.claims("import_groups")):
        pytest.skip("the target claims neither group_push nor import_groups")
    step = "SPEC 2.0 step 10" if scim.version == "2.0" else "SPEC 1.1 step 16"
    fix_200 = (
        "Serve GET /Groups without query parameters (Okta's SPEC test sends none): default "
        "startIndex to 1 and count to a page size of your choice."
    )
    result = scim.client.send("GET", "/Groups", expect="groups", note=step, profile="spec")
    expect_status(result, 200, "A plain GET /Groups does not answer 200", fix_200)
    data = result.json_object
    total: Any = data.get("totalResults")
    if scim.version == "1.1" and not (is_int(total) and total >= 1):
        # Okta's SCIM 1.1 script needs a group on the server; provide our own rather than fail.
        if not scim.claims("group_push"):
            pytest.skip(
                "Okta's SCIM 1.1 step 16 needs at least one group on the server; there is none "
                "and the target does not claim group_push, so the harness cannot create one"
            )
        scim.transcript.note("No group on the server: creating one (SPEC 1.1 step 16 needs one)")
        scim.must_create_group()
        result = scim.client.send("GET", "/Groups", expect="groups", note=step, profile="spec")
        expect_status(result, 200, "A plain GET /Groups does not answer 200", fix_200)
        data = result.json_object
        total = data.get("totalResults")
        if not (is_int(total) and total >= 1):
            raise fail(
                "GET /Groups does not count the group that exists",
                seen=result.seen(),
                expected="totalResults >= 1 (a group was just created)",
                fix="Give totalResults as the number of groups on the server, as a JSON integer.",
            )
    if scim.version == "2.0" and str(total) == "0":
        return  # Okta's 2.0 script accepts an empty server ("nogroups")
    if not isinstance(data.get("Resources"), list):
        raise fail(
            "GET /Groups does not list its groups in a Resources array",
            seen=result.seen(),
            expected='a ListResponse with "Resources": [ ...groups... ]'
            + (" when totalResults > 0" if scim.version == "2.0" else ""),
            fix='Put the groups in a "Resources" JSON array (capital R) of the list response.',
        )
