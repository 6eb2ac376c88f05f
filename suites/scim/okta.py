"""What the SCIM checks share: one check's Okta client, test people, and grading helpers."""

from __future__ import annotations

import contextlib
import random
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import pytest

from oin_conformance.failures import CheckFailure, Inconclusive, excerpt, fail, inconclusive
from oin_conformance.roles.scim import (
    CORE_1,
    ERROR_URN,
    IMPORT_PAGE_SIZE,
    LIST_URN,
    OKTA_MAX_ATTEMPTS,
    USER_URN,
    Kind,
    Person,
    ScimClient,
    ScimResult,
    create_user_body,
    spec_create_user_body,
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

    def create_user(self, person: Person | None = None) -> tuple[Person, ScimResult, ScimResult]:
        """Okta's assignment: look the userName up (``filter``, ``startIndex=1&count=100``),
        then POST the provisioning engine's body (``externalId``, ``groups: []``,
        ``password``...). Returns the person, the lookup and the create."""
        person = person or self.person()
        lookup = self.client.find_user(
            person.user_name, note="Okta looks the user up before creating"
        )
        result = self.client.create_user(
            create_user_body(person, self.version), note="Okta creates the user"
        )
        return person, lookup, result

    def spec_create_user(self, person: Person | None = None) -> tuple[Person, ScimResult]:
        """Okta's SPEC test step 6 (SCIM 1.1: step 12): POST its own body (no ``password``,
        ``externalId``, ``locale`` or ``groups``) with its own headers."""
        person = person or self.person()
        result = self.client.create_user(
            spec_create_user_body(person, self.version),
            note="SPEC test: create a user with realistic values",
            profile="spec",
        )
        return person, result

    def spec_find_user(self, user_name: str, **kw: Any) -> ScimResult:
        """The SPEC test's lookup: ``GET /Users?filter=userName eq "…"`` (no paging
        parameters, unlike the provisioning engine's), with the SPEC test's headers."""
        query = [("filter", f'userName eq "{user_name}"')]
        kw.setdefault("note", "SPEC test lookup")
        return self.client.send("GET", "/Users", query=query, expect="users", profile="spec", **kw)

    def must_create_user(self) -> tuple[Person, str]:
        """A user this check needs, created as Okta's provisioning engine creates it (any 2xx
        with an id will do; the create checks grade). Without it the check cannot judge."""
        person, _, result = self.create_user()
        return person, self._created(result, "user", "scim.accepts_okta_provisioning_create")

    def must_spec_create_user(self) -> tuple[Person, str]:
        """A user created by the SPEC test's POST, for the SPEC steps that follow it."""
        person, result = self.spec_create_user()
        return person, self._created(result, "user", "scim.creates_user_with_201")

    def must_create_group(self, name: str | None = None) -> tuple[str, str]:
        name = name or self.group_name()
        result = self.client.create_group(name, note="Group Push: create the group")
        return name, self._created(result, "group", "scim.group_push_creates_group")

    def _created(self, result: ScimResult, what: str, check: str) -> str:
        problem = unreachable(result)
        if problem is not None:
            raise problem
        if not (result.ok and result.id):
            raise inconclusive(
                f"Could not create the test {what} this check needs",
                seen=result.seen(),
                expected=f"a 2xx answer to POST /{what.title()}s carrying the new {what}'s id",
                fix=f"Make {what} creation work first (see {check}); then run this check again.",
            )
        return result.id


# --- grading helpers ---------------------------------------------------------------------------


def unreachable(result: ScimResult) -> CheckFailure | None:
    """No answer, or only 429s: Okta's task fails (no answer, Okta's ten attempts used up),
    or the harness could not wait as long as Okta would (inconclusive)."""
    if result.status is None:
        return fail(
            "The SCIM server did not answer",
            seen=result.seen(),
            expected="an HTTP response within the timeout",
            fix="Check [scim] base_url and that the SCIM server is running; Okta gives up "
            "after 60 s.",
        )
    stopped = result.stopped_by_rate_limit
    events = "\n".join(e.describe() for e in result.rate_limits)
    if stopped == "deadline":
        return inconclusive(
            "The SCIM server rate-limited this request longer than the harness may wait",
            seen=f"{events}\n\n{result.seen()}",
            expected="an answer other than 429 within the harness's wait for one request",
            fix="Send Retry-After in whole seconds (Okta waits 5 minutes without one) and let "
            "a test run through, or raise [harness] timeout (the harness waits at most four "
            "timeouts, and at least a minute, per request); then run this check again.",
        )
    if stopped == "okta_gave_up":
        return fail(
            f"The SCIM server answered 429 to all {OKTA_MAX_ATTEMPTS} of Okta's attempts",
            seen=f"{events}\n\n{result.seen()}",
            expected=f"an answer other than 429 within Okta's {OKTA_MAX_ATTEMPTS} attempts",
            fix="Okta gives up after ten attempts and the provisioning task fails: size the "
            "rate limit for Okta's traffic, and send Retry-After with the seconds to wait.",
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


def expect_user_returned(result: ScimResult, title: str) -> None:
    """A create answered with the user it made, valid SCIM (an empty body fails in Okta)."""
    if not result.text.strip():
        raise fail(
            title,
            seen=result.seen(),
            expected="the created user, with its id",
            fix="Return the created user; Okta fails with 'Create new user returned empty user'.",
        )
    expect_valid(result, "User")


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


@dataclass
class Import:
    """What Okta's import read: the ids in order, the pages, the last totalResults."""

    ids: list[str]
    pages: int
    total: Any
    complete: bool


@contextlib.contextmanager
def quiet_server(check: ScimCheck) -> Iterator[None]:
    """Around a check that pages the server and judges what it read: the run's other
    processes (xdist workers sending to the same server) change nothing meanwhile. When
    they could not be held back, a failure found is inconclusive: their own creates and
    deletes move users between pages and change totalResults."""
    with check.session.listing() as quiet:
        if not quiet:
            check.transcript.note(
                "Other workers of this run kept changing the SCIM server; the pages were "
                "read while they did"
            )
        try:
            yield
        except CheckFailure as exc:
            if quiet or isinstance(exc, Inconclusive):
                raise
            raise inconclusive(
                exc.title,
                seen=f"{exc.seen}\n\nOther workers of this run were creating and deleting "
                "users on this server while these pages were read",
                expected=exc.expected,
                fix="Run the SCIM checks again, alone (-m scim) or with fewer workers.",
            ) from None


def okta_import(check: ScimCheck, kind: Kind, max_pages: int = 200) -> Import:
    """Page through ``kind`` as Okta's import does (count=100, startIndex + 100 while
    totalResults says more remain), failing at the first page that decides it: one that is
    not a valid ListResponse, that echoes another startIndex, holds more than 100, repeats an
    id, or holds fewer than 100 while more remain (Okta would skip the rest of that hundred).
    """
    what = "users" if kind == "User" else "groups"
    ids: list[str] = []
    seen: set[str] = set()  # the ids of earlier pages (a repeat decides the check)
    total: Any = None
    pages = 0
    start = 1
    complete = False
    for page in check.client.import_pages(kind, max_pages):
        pages += 1
        expect_status(
            page,
            200,
            f"A page of Okta's {kind.lower()} import does not answer 200",
            f"Serve GET /{kind}s?startIndex=N&count=100 for every N Okta asks for.",
        )
        data = expect_list(check, page)
        batch = page.resources()
        total = data.get("totalResults")
        batch_ids = [str(r.get("id")) for r in batch]
        problem = ""
        if len(batch) > IMPORT_PAGE_SIZE:
            problem = f"{len(batch)} {what} on a page asked for count={IMPORT_PAGE_SIZE}"
        elif "startIndex" in data and data["startIndex"] != start:
            problem = f"startIndex {data['startIndex']!r} echoed for startIndex={start}"
        elif seen.intersection(batch_ids):
            again = sorted(seen.intersection(batch_ids))[:5]
            problem = f"the page at startIndex={start} repeats {what} of earlier pages: {again}"
        if problem:
            raise fail(
                f"Okta's {kind.lower()} import reads a wrong page",
                seen=f"{problem}\n\n{page.seen()}",
                expected=f"at most {IMPORT_PAGE_SIZE} {what} per page, startIndex echoed, "
                "each once",
                fix="Honour startIndex (1-based) and count, and keep one stable order across "
                "pages.",
            )
        ids += batch_ids
        seen.update(batch_ids)
        more = is_int(total) and start + IMPORT_PAGE_SIZE <= total
        if more and len(batch) < IMPORT_PAGE_SIZE:
            skipped = f"{start + len(batch)}-{start + IMPORT_PAGE_SIZE - 1}"
            raise fail(
                f"Okta's {kind.lower()} import skips {what}: a page holds fewer than 100 while "
                "more remain",
                seen=f"startIndex={start}&count={IMPORT_PAGE_SIZE} answered {len(batch)} "
                f"{what} (itemsPerPage {data.get('itemsPerPage')!r}) of totalResults "
                f"{total}; Okta asks for startIndex={start + IMPORT_PAGE_SIZE} next, so "
                f"{what} {skipped} are never imported\n\n{page.seen(600)}",
                expected=f"{IMPORT_PAGE_SIZE} {what} on every page but the last",
                fix=f"Serve count={IMPORT_PAGE_SIZE} in full (Okta advances startIndex by 100, "
                "not by itemsPerPage): raise the page-size cap to at least 100.",
            )
        if not more:
            complete = True
            break
        start += IMPORT_PAGE_SIZE
    return Import(ids, pages, total, complete)


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
