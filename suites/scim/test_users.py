"""User lifecycle as Okta drives it: lookup, create, duplicate, read, profile update,
deactivate, reactivate and import paging (Okta's SPEC steps 3-9 and its CRUD test). The SPEC
steps send the SPEC test's requests (its bodies and headers); the rest send what Okta's
provisioning engine sends (its create body carries ``externalId``, ``password`` and
``groups: []``)."""

from __future__ import annotations

import pytest

from oin_conformance.failures import fail

from .okta import (
    ScimCheck,
    expect_error_body,
    expect_list,
    expect_status,
    expect_user_returned,
    expect_valid,
    field,
    is_int,
    okta_import,
    quiet_server,
)


@pytest.mark.oin(requirement="SCIM-LOOKUP", severity="blocking")
@pytest.mark.parametrize("who", ["invalid_user", "random_user"])
def test_lookup_of_unknown_user_returns_empty_list(scim: ScimCheck, who: str) -> None:
    """SPEC steps 3 and 5: userName eq for nobody answers 200 with totalResults 0."""
    name = "abcdefgh@atko.com" if who == "invalid_user" else scim.person().user_name
    step = "SPEC step 3" if who == "invalid_user" else "SPEC step 5"
    result = scim.spec_find_user(name, note=step)
    expect_status(
        result,
        200,
        "Looking up an unknown userName does not answer 200",
        "Answer a filter that matches nobody with 200 and an empty ListResponse (not 404).",
    )
    data = expect_list(scim, result)
    if data.get("totalResults") != 0 or result.resources():
        raise fail(
            "A lookup for nobody returns users",
            seen=result.seen(),
            expected="totalResults 0 and no Resources",
            fix="Apply the userName eq filter; Okta would otherwise link the wrong account.",
        )


@pytest.mark.oin(requirement="SCIM-CREATE", severity="blocking")
def test_creates_user_with_201(scim: ScimCheck) -> None:
    """SPEC step 6: POST /Users with the SPEC test's body (sent as application/json) answers
    201 with an id and the values sent (userName case preserved)."""
    scim.require("create")
    person, result = scim.spec_create_user()
    expect_status(
        result,
        201,
        "Creating a user does not answer 201 Created",
        "Answer POST /Users with 201 and the created user (Okta's SPEC test asserts 201). "
        "Read JSON request bodies whether they say application/scim+json or "
        "application/json: Okta's SPEC test sends application/json.",
    )
    expect_user_returned(result, "Creating a user answers an empty body")
    data = result.json_object
    wrong = {
        "id": (result.id, "non-empty"),
        "userName": (data.get("userName"), person.user_name),
        "name.givenName": (field(data, "name.givenName"), person.given_name),
        "name.familyName": (field(data, "name.familyName"), person.family_name),
        "active": (data.get("active"), True),
    }
    bad = {
        k: v for k, v in wrong.items() if (k == "id" and not v[0]) or (k != "id" and v[0] != v[1])
    }
    if scim.user_urn not in (data.get("schemas") or []):
        bad["schemas"] = (data.get("schemas"), [scim.user_urn])
    if bad:
        raise fail(
            "The created user does not echo what Okta sent",
            seen="\n".join(f"{k}: got {v[0]!r}, sent {v[1]!r}" for k, v in bad.items())
            + f"\n\n{result.seen()}",
            expected="id set; userName (same case), givenName, familyName and active as sent",
            fix="Store userName exactly as sent (compare it case-insensitively, but keep its "
            "case) and return the stored user.",
        )


@pytest.mark.oin(requirement="SCIM-CREATE", severity="blocking")
def test_accepts_okta_provisioning_create(scim: ScimCheck) -> None:
    """Assigning a user in Okta: the userName lookup finds nobody, and POST /Users with the
    provisioning engine's body (locale, externalId, groups: [], a random password) creates
    the user, answering it with its id and the userName sent."""
    scim.require("create")
    person, lookup, result = scim.create_user()
    expect_status(
        lookup,
        200,
        "Okta's lookup before creating a user does not answer 200",
        'Serve GET /Users?filter=userName eq "..."&startIndex=1&count=100 (Okta sends it '
        "before every create).",
    )
    if lookup.total() != 0 or lookup.resources():
        raise fail(
            "Okta's lookup before creating finds someone for a new userName",
            seen=lookup.seen(),
            expected="totalResults 0 for a userName nobody has",
            fix="Apply the userName eq filter; Okta links to whoever it finds instead of "
            "creating the user.",
        )
    if not result.ok:
        detail = result.json_object.get("detail") or result.json_object.get("Errors") or ""
        raise fail(
            "The user Okta's provisioning engine sends is refused",
            seen=(f"the server says: {detail}\n\n" if detail else "") + result.seen(),
            expected="a 2xx answer (201) creating the user",
            fix="Accept Okta's create body as sent: ignore the read-only groups: [] "
            "(RFC 7643 §4.1.2) rather than refusing it; accept or ignore password (Okta "
            "sends a random 8-character placeholder even when it does not sync passwords, so "
            "a password policy must not refuse it); store externalId and locale or ignore them.",
        )
    expect_user_returned(result, "Creating the user Okta sends answers without the user")
    if not result.id or result.json_object.get("userName") != person.user_name:
        raise fail(
            "The user created from Okta's body lacks its id or carries another userName",
            seen=f"id {result.id!r}; sent userName {person.user_name!r}, got "
            f"{result.json_object.get('userName')!r}\n\n{result.seen()}",
            expected=f"an id, and userName {person.user_name!r} exactly as sent",
            fix="Return the created user with its id; store userName as sent (compare it "
            "case-insensitively, keep its case).",
        )


@pytest.mark.oin(requirement="SCIM-READ", severity="blocking")
def test_reads_created_user(scim: ScimCheck) -> None:
    """SPEC step 7: GET /Users/{id} returns the created user with the values sent."""
    scim.require("create")
    person, uid = scim.must_spec_create_user()
    result = scim.client.get_user(uid, note="SPEC step 7", profile="spec")
    expect_status(result, 200, "The created user cannot be read", "Serve GET /Users/{id}.")
    expect_valid(result, "User")
    data = result.json_object
    got = (data.get("userName"), field(data, "name.givenName"), field(data, "name.familyName"))
    sent = (person.user_name, person.given_name, person.family_name)
    if got != sent or result.id != uid:
        raise fail(
            "The user read back differs from the user created",
            seen=f"userName/givenName/familyName {got!r}, sent {sent!r}\n\n{result.seen()}",
            expected="the same id, userName, givenName and familyName",
            fix="Return the stored user unchanged from GET /Users/{id}.",
        )


@pytest.mark.oin(requirement="SCIM-DUPLICATE", severity="blocking")
def test_refuses_duplicate_user_with_409(scim: ScimCheck) -> None:
    """SPEC step 8: POSTing the same user again answers 409 Conflict."""
    scim.require("create")
    person, _ = scim.must_spec_create_user()
    _, again = scim.spec_create_user(person)
    expect_status(
        again,
        409,
        "A duplicate user is not refused with 409",
        "Check userName uniqueness (case-insensitively) on POST /Users and answer 409 with a "
        "SCIM Error (scimType uniqueness).",
    )


@pytest.mark.oin(requirement="SCIM-ERRORS", severity="advisory")
def test_duplicate_answer_carries_scim_error(scim: ScimCheck) -> None:
    """The 409 for a duplicate carries the SCIM Error body Okta shows to the admin."""
    scim.require("create")
    person, _ = scim.must_spec_create_user()
    _, again = scim.spec_create_user(person)
    if again.status != 409:
        pytest.skip(f"the duplicate was answered {again.status}, not 409 (see the 409 check)")
    expect_error_body(again, 409, scim)


@pytest.mark.oin(requirement="SCIM-LOOKUP", severity="blocking")
def test_finds_user_by_username(scim: ScimCheck) -> None:
    """CRUD step 4: userName eq finds the user, with userName, email and names as sent."""
    scim.require("create")
    person, uid = scim.must_create_user()
    result = scim.client.find_user(person.user_name, note="CRUD test step 4")
    expect_status(result, 200, "The userName lookup does not answer 200", "Serve the filter.")
    expect_list(scim, result)
    found = result.resources()
    hit = found[0] if len(found) == 1 else {}
    got = (
        hit.get("id"),
        hit.get("userName"),
        field(hit, "emails[0].value"),
        field(hit, "name.givenName"),
        field(hit, "name.familyName"),
    )
    sent = (uid, person.user_name, person.email, person.given_name, person.family_name)
    if got != sent:
        raise fail(
            "The userName lookup does not return the user",
            seen=f"{len(found)} result(s); first: {got!r}\n\n{result.seen()}",
            expected=f"exactly one user: {sent!r}",
            fix='Implement filter=userName eq "<value>" on GET /Users.',
        )


@pytest.mark.oin(requirement="SCIM-LOOKUP", severity="blocking")
def test_finds_user_by_username_in_any_case(scim: ScimCheck) -> None:
    """SPEC step 9 and RFC 7643: userName is case-insensitive, so the upper-cased lookup
    finds the same user (Okta otherwise creates a duplicate account)."""
    scim.require("create")
    person, uid = scim.must_spec_create_user()
    result = scim.spec_find_user(person.user_name.upper(), note="SPEC step 9: case sensitivity")
    expect_status(
        result, 200, "An upper-cased userName lookup does not answer 200", "Serve the filter."
    )
    expect_list(scim, result)
    ids = [r.get("id") for r in result.resources()]
    if ids != [uid]:
        raise fail(
            "The userName lookup is case-sensitive",
            seen=f"looked up {person.user_name.upper()!r}; found ids {ids!r}\n\n{result.seen()}",
            expected=f"the user {uid} created as {person.user_name!r}",
            fix="Compare userName case-insensitively in filters (RFC 7643 §4.1.1: caseExact "
            "false), while storing and returning it as sent.",
        )


@pytest.mark.oin(requirement="SCIM-UPDATE", severity="blocking")
def test_applies_profile_update(scim: ScimCheck) -> None:
    """CRUD step 5: Okta's GET + PUT with a changed givenName is applied and read back."""
    scim.require("create", "update")
    person, uid = scim.must_create_user()
    new_given = person.given_name + "update"
    _, put = scim.client.update_profile(uid, {"name": {"givenName": new_given}})
    expect_status(
        put,
        200,
        "The profile update (PUT) is not accepted",
        "Accept PUT /Users/{id} with the whole user (Okta echoes id, meta and groups: []) "
        "and answer 200 with the updated user.",
    )
    back = scim.client.get_user(uid, note="read back the update")
    expect_status(back, 200, "The updated user cannot be read", "Serve GET /Users/{id}.")
    if field(back.json_object, "name.givenName") != new_given:
        raise fail(
            "The profile update is not applied",
            seen=back.seen(),
            expected=f"name.givenName = {new_given!r}",
            fix="Apply the attributes of the PUT body to the stored user.",
        )
    if back.json_object.get("active") is not True:
        raise fail(
            "The profile update deactivated the user",
            seen=back.seen(),
            expected="active still true",
            fix="Keep 'active' as sent in the PUT body (never default it to false).",
        )


def _set_and_read(scim: ScimCheck, uid: str, active: bool) -> None:
    verb = "reactivation" if active else "deactivation"
    result = scim.client.set_active(uid, active)
    expect_status(
        result,
        (200, 204),
        f"The {verb} is not accepted",
        (
            'Accept PATCH /Users/{id} with {"op": "replace", "value": {"active": '
            + str(active).lower()
            + "}} (no path, value is an object) and answer 200 or 204."
            if scim.version == "2.0"
            else "Accept PUT /Users/{id} with the whole user and active set."
        ),
    )
    back = scim.client.get_user(uid, note=f"read back the {verb}")
    expect_status(
        back,
        200,
        f"The user cannot be read after its {verb}",
        "Keep deactivated users: Okta reads them back (its CRUD test fails on 404).",
    )
    if back.json_object.get("active") is not active:
        raise fail(
            f"The {verb} is answered but not applied",
            seen=f"after the {verb} answered {result.status}:\n{back.seen()}",
            expected=f"active = {str(active).lower()}",
            fix="Apply the change of 'active' to the stored user before answering success.",
        )


@pytest.mark.oin(requirement="SCIM-DEACTIVATE", severity="blocking")
def test_deactivates_user(scim: ScimCheck) -> None:
    """CRUD steps 6 and 8: deactivation sets active=false and the user stays readable."""
    scim.require("create", "deactivate")
    _, uid = scim.must_create_user()
    _set_and_read(scim, uid, False)


@pytest.mark.oin(requirement="SCIM-DEACTIVATE", severity="blocking")
def test_reactivates_user(scim: ScimCheck) -> None:
    """CRUD step 7: a deactivated user reactivated by Okta is active again."""
    scim.require("create", "deactivate", "reactivate")
    _, uid = scim.must_create_user()
    _set_and_read(scim, uid, False)
    _set_and_read(scim, uid, True)


@pytest.mark.oin(requirement="SCIM-PAGINATION", severity="blocking")
def test_imports_users_as_okta_pages(scim: ScimCheck) -> None:
    """Okta's user import: GET /Users?startIndex=1&count=100, then startIndex=101, 201, …
    while totalResults says more remain, reads every user exactly once (a page of fewer than
    100 before the last makes Okta skip users, since it adds 100 to startIndex)."""
    scim.require("import_users")
    own = scim.must_create_user()[1] if scim.claims("create") else ""
    with quiet_server(scim):
        done = okta_import(scim, "User")
        scim.transcript.note(
            f"Okta's import read {done.pages} page(s) of up to 100: {len(done.ids)} users, "
            f"totalResults {done.total!r}"
        )
        if not done.complete:
            scim.transcript.note(
                f"Stopped after {done.pages} pages: every page so far was full and in order; the "
                "rest of a server this large is not read"
            )
            return
        if own and own not in done.ids:
            raise fail(
                "Okta's import misses the user this check created",
                seen=f"{done.pages} page(s), totalResults {done.total!r}, {len(done.ids)} users "
                f"read, not {own}\n\n{scim.transcript.summary(4)}",
                expected=f"the user {own} on one of the pages",
                fix="List every user in GET /Users, in a stable order, and give totalResults as "
                "the count of all of them.",
            )
        if is_int(done.total) and len(done.ids) != done.total:
            raise fail(
                "Okta's import reads another number of users than totalResults says",
                seen=f"totalResults {done.total}, {len(done.ids)} users on {done.pages} page(s)"
                f"\n\n{scim.transcript.summary(4)}",
                expected="as many users on the pages as totalResults",
                fix="Give totalResults as the number of all matching users (not of the page).",
            )


#: The pagination check's pages: small ones (count=2), then Okta's size (count=100).
PAGING_SMALL, PAGING_FULL = 5, 3


@pytest.mark.oin(requirement="SCIM-PAGINATION", severity="blocking")
def test_paginates_with_total_results(scim: ScimCheck) -> None:
    """Paging with startIndex/count by totalResults reaches every user: small pages
    (count=2, advancing by what each page held), then Okta's page size of 100."""
    scim.require("import_users")
    if scim.claims("create"):
        created = {scim.must_create_user()[1] for _ in range(3)}
    else:
        created = set()
    with quiet_server(scim):
        seen_ids: list[str] = []
        start, count, total = 1, 2, None
        pages = 0
        complete = False
        # A few small pages prove that paging works; then a few of Okta's own page size
        # (count=100). A server with many users of its own is not read to the end here: Okta's
        # import check does that, Okta's way.
        while pages < PAGING_SMALL + PAGING_FULL:
            count = 2 if pages < PAGING_SMALL else 100
            result = scim.client.list_users(start, count, note=f"import page {pages + 1}")
            expect_status(result, 200, "A page of GET /Users does not answer 200", "Serve paging.")
            data = expect_list(scim, result)
            batch = result.resources()
            total = data.get("totalResults")
            if len(batch) > count:
                raise fail(
                    "A page holds more users than count",
                    seen=result.seen(),
                    expected=f"at most {count} users",
                    fix="Honour count.",
                )
            if "startIndex" in data and data["startIndex"] != start:
                raise fail(
                    "The page echoes a different startIndex",
                    seen=result.seen(),
                    expected=f"startIndex {start}",
                    fix="Return the startIndex that was asked for (1-based).",
                )
            seen_ids += [str(r.get("id")) for r in batch]
            pages += 1
            if not batch or not isinstance(total, int) or start + len(batch) > total:
                complete = True
                break
            start += len(batch)
        if not complete:
            scim.transcript.note(
                f"Stopped after {pages} pages: every page so far was in order; the rest of a "
                "server this large is read by Okta's import check"
            )
        missing = created - set(seen_ids) if complete else set()
        if missing or (is_int(total) and len(set(seen_ids)) < len(seen_ids)):
            raise fail(
                "Okta's import, paging by totalResults, misses users",
                seen=(
                    f"paged with count=2, then 100: {pages} page(s), totalResults {total!r}, "
                    f"{len(seen_ids)} users read; missing the users this check created: "
                    f"{sorted(missing)}; duplicates: {len(seen_ids) - len(set(seen_ids))}\n\n"
                    f"{scim.transcript.summary(4)}"
                ),
                expected="every user exactly once, with totalResults = the number of users",
                fix="Give totalResults as the count of all matching users (not of the page), "
                "keep a stable order, and honour startIndex/count.",
            )
        everything = scim.client.list_users(1, 100, note="one big page")
        if everything.ok and is_int(everything.json_object.get("totalResults")) and is_int(total):
            if everything.json_object["totalResults"] != total:
                raise fail(
                    "totalResults depends on the page size",
                    seen=f"paged: {total}; one page of 100: "
                    f"{everything.json_object['totalResults']}",
                    expected="the same totalResults for every page size",
                    fix="Give totalResults as the count of all matching users.",
                )


@pytest.mark.oin(requirement="SCIM-LOOKUP", severity="blocking")
def test_refuses_malformed_filter_with_400(scim: ScimCheck) -> None:
    """SCIM 1.1 SPEC step 15: a filter that is a bare value (no attribute, no operator)
    answers 400, not a list of everyone."""
    if scim.version != "1.1":
        pytest.skip("step 15 is in Okta's SCIM 1.1 SPEC test only")
    person = scim.person()
    query = [("filter", person.user_name.upper())]
    result = scim.client.send("GET", "/Users", query=query, expect="users", note="SPEC 1.1 step 15")
    expect_status(
        result,
        400,
        "A malformed filter is not refused with 400",
        "Parse the filter and answer 400 (invalidFilter) when it is not 'attribute op value'.",
    )
