"""Okta's exact SCIM traffic, request by request, against ``shared/reference/scim.md``: the
connection test, import paging over more than one page, the SPEC test's own bodies and
headers, Group Push membership updates, the Entitlements test, Okta's 429 handling (a fake
clock: nothing really waits) and the timing of every exchange. No plugin involved."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from scim2_models import Context

from fixtures.reference_app.app import create_app
from oin_conformance.roles.scim import (
    CORE_1,
    OKTA_USER_AGENT,
    SPEC_USER_AGENT,
    Auth,
    Ledger,
    RateLimitPolicy,
    ScimClient,
    Traffic,
    create_user_body,
    membership_patch_body,
    retry_after_seconds,
    spec_create_user_body,
    typed_patch,
)
from oin_conformance.roles.serve import ServedApp
from oin_conformance.target import TargetError, load
from oin_conformance.transcript import Redactor, Transcript
from tests.scim.test_scim_client import PERSON, PREFIX, TOKEN, Recorder

USER_URN = "urn:ietf:params:scim:schemas:core:2.0:User"
PATCH_URN = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


@pytest.fixture
def seeded() -> Iterator[tuple[ServedApp, Recorder]]:
    """The reference SCIM server holding 150 accounts of its own (seeded by the fixture, not
    by the client under test): Okta's import spans two pages."""
    app = create_app({"scim": {"auth_mode": "bearer", "token": TOKEN}}, {"scim_users": 150})
    recorder = Recorder(app)
    served = ServedApp(recorder)
    yield served, recorder
    served.stop()


def client(url: str, version: str = "2.0", **kw: Any) -> ScimClient:
    base = url + ("/scim/v2" if version == "2.0" else "/scim/v1")
    return ScimClient(
        base,
        version=version,
        auth=Auth("bearer", token=TOKEN),
        transcript=Transcript(Redactor([TOKEN])),
        timeout=5,
        ledger=Ledger(PREFIX),
        **kw,
    )


def calls(recorder: Recorder, since: int = 0) -> list[tuple[str, str, str]]:
    return [(r["method"], r["path"], r["query"]) for r in recorder.requests[since:]]


# --- the connection test and import paging (reference §1.3 steps 1-2) -------------------------


def test_connection_test_reads_users_then_groups_with_fixed_parameters(
    seeded: tuple[ServedApp, Recorder],
) -> None:
    served, rec = seeded
    users, groups = client(served.url).connection_test()
    assert calls(rec) == [
        ("GET", "/scim/v2/Users", "startIndex=1&count=2"),
        ("GET", "/scim/v2/Groups", "startIndex=1&count=100"),
    ]
    assert users.status == groups.status == 200 and len(users.resources()) == 2
    for req in rec.requests:
        assert req["headers"]["User-Agent"] == OKTA_USER_AGENT
        assert "Content-Type" not in req["headers"]


def test_import_pages_by_100_while_total_results_says_more_remain(
    seeded: tuple[ServedApp, Recorder],
) -> None:
    served, rec = seeded
    c = client(served.url)
    pages = list(c.import_pages("User"))
    assert calls(rec) == [
        ("GET", "/scim/v2/Users", "startIndex=1&count=100"),
        ("GET", "/scim/v2/Users", "startIndex=101&count=100"),
    ]
    ids = [r["id"] for page in pages for r in page.resources()]
    assert pages[0].total() == 150 and len(ids) == len(set(ids)) == 150
    # startIndex grows by 100 whatever a page held, and a consumer may stop early.
    first = next(iter(c.import_pages("Group")))
    assert first.ok and calls(rec)[-1] == ("GET", "/scim/v2/Groups", "startIndex=1&count=100")


def test_import_advances_by_100_even_over_short_pages() -> None:
    """A server that serves 50 a page: Okta still asks for 101 next (users 51-100 are never
    read) — the import check fails such a server."""
    app = create_app(
        {"scim": {"auth_mode": "bearer", "token": TOKEN}}, {"flaw": "scim_short_pages"}
    )
    rec = Recorder(app)
    served = ServedApp(rec)
    try:
        pages = list(client(served.url).import_pages("User"))
        assert [r["query"] for r in rec.requests] == [
            "startIndex=1&count=100",
            "startIndex=101&count=100",
        ]
        assert [len(p.resources()) for p in pages] == [50, 50]
    finally:
        served.stop()


# --- the SPEC test's own requests (reference §2.1, §2.2) --------------------------------------


def test_spec_create_sends_the_spec_body_as_application_json_without_user_agent(
    seeded: tuple[ServedApp, Recorder],
) -> None:
    served, rec = seeded
    c = client(served.url)
    body = spec_create_user_body(PERSON)
    result = c.create_user(body, profile="spec")
    assert result.status == 201 and result.problem == ""
    req = rec.requests[-1]
    # Step 6's body: no password, locale, externalId or groups (unlike the engine's).
    assert list(req["body"]) == ["schemas", "userName", "name", "emails", "displayName", "active"]
    assert req["body"] == {
        "schemas": [USER_URN],
        "userName": PERSON.user_name,
        "name": {"givenName": PERSON.given_name, "familyName": PERSON.family_name},
        "emails": [{"primary": True, "value": PERSON.email, "type": "work"}],
        "displayName": PERSON.display_name,
        "active": True,
    }
    assert set(create_user_body(PERSON)) - set(body) == {
        "locale",
        "externalId",
        "groups",
        "password",
    }
    headers = req["headers"]
    assert headers["Content-Type"] == "application/json"
    assert headers["Accept"] == "application/scim+json; charset=utf-8"
    assert "User-Agent" not in headers  # none on the wire (urllib3 adds one unless told)
    recorded = c.transcript.exchanges[-1].request_headers
    assert "User-Agent" not in recorded and "@@@" not in json.dumps(recorded)
    # The SPEC test's GETs: its own User-Agent, and a Content-Type on a bodiless GET.
    c.get_user(result.id, profile="spec")
    headers = rec.requests[-1]["headers"]
    assert headers["User-Agent"] == SPEC_USER_AGENT == "OKTA SCIM Integration"
    assert headers["Content-Type"] == "application/scim+json; charset=utf-8"
    assert headers["Accept"] == "application/scim+json" and headers["Accept-Charset"] == "utf-8"


def test_spec_requests_in_scim_1_1(seeded: tuple[ServedApp, Recorder]) -> None:
    served, rec = seeded
    c = client(served.url, "1.1")
    result = c.create_user(spec_create_user_body(PERSON, "1.1"), profile="spec")
    assert result.status == 201
    req = rec.requests[-1]
    assert req["body"]["schemas"] == [CORE_1] and "password" not in req["body"]
    assert req["headers"]["User-Agent"] == SPEC_USER_AGENT
    assert req["headers"]["Content-Type"] == "application/json; charset=utf-8"
    assert req["headers"]["Accept"] == "application/json"


# --- Group Push: a membership update (reference §1.3 step 10) ---------------------------------


def test_membership_update_is_a_rename_then_one_patch_of_every_change(
    seeded: tuple[ServedApp, Recorder],
) -> None:
    served, rec = seeded
    c = client(served.url)
    users = [
        c.create_user(create_user_body(PERSON.__class__(f"{PREFIX}-{n}@example.com", "A", "B",
                                                         f"{PREFIX}-{n}@example.com", "00u", "pw")))
        .id
        for n in ("a", "b", "c")
    ]  # fmt: skip
    name = f"{PREFIX}-Group-1"
    gid = c.create_group(name).id
    c.add_members(gid, [(users[0], "a"), (users[1], "b")])
    since = len(rec.requests)
    rename, members = c.update_membership(gid, name, add=[(users[2], "c")], remove=[users[0]])
    assert rename.ok and members.ok
    sent = rec.requests[since:]
    assert [(r["method"], r["path"]) for r in sent] == [("PATCH", f"/scim/v2/Groups/{gid}")] * 2
    assert sent[0]["body"] == {
        "schemas": [PATCH_URN],
        "Operations": [{"op": "replace", "value": {"id": gid, "displayName": name}}],
    }
    assert sent[1]["body"] == {
        "schemas": [PATCH_URN],
        "Operations": [
            {"op": "remove", "path": f'members[value eq "{users[0]}"]'},
            {"op": "add", "path": "members", "value": [{"value": users[2], "display": "c"}]},
        ],
    }
    back = c.get_group(gid).json_object
    assert {m["value"] for m in back["members"]} == {users[1], users[2]}


def test_membership_bodies_are_valid_scim_and_okta_shaped_in_1_1() -> None:
    body = membership_patch_body([("u3", "Ada"), ("u4", "Alan")], ["u1", "u2"])
    assert [op["op"] for op in body["Operations"]] == ["remove", "remove", "add"]
    dumped = typed_patch(body, "Group").model_dump(scim_ctx=Context.RESOURCE_PATCH_REQUEST)
    assert dumped == body
    assert membership_patch_body([("u3", "Ada")], ["u1"], "1.1") == {
        "schemas": [CORE_1],
        "members": [{"value": "u1", "operation": "delete"}, {"value": "u3"}],
    }
    assert membership_patch_body([], ["u1"])["Operations"] == [
        {"op": "remove", "path": 'members[value eq "u1"]'}
    ]


def test_membership_update_touches_only_what_the_run_created(
    seeded: tuple[ServedApp, Recorder],
) -> None:
    from oin_conformance.roles.scim import ScimClientError

    served, rec = seeded
    c = client(served.url)
    gid = c.create_group(f"{PREFIX}-Group-2").id
    before = len(rec.requests)
    with pytest.raises(ScimClientError):
        c.update_membership(gid, f"{PREFIX}-Group-2", add=[("isv-user", "x")], remove=[])
    with pytest.raises(ScimClientError):
        c.update_membership("isv-group", "Engineering", add=[], remove=[])
    assert len(rec.requests) == before


# --- the Entitlements test (reference §2.4) ---------------------------------------------------


def test_entitlements_test_sends_count_then_start_index(
    seeded: tuple[ServedApp, Recorder],
) -> None:
    served, rec = seeded
    c = client(served.url)
    for endpoint in ("/Roles", "/Entitlements"):
        page = c.entitlements_page(endpoint)
        assert calls(rec)[-1] == ("GET", f"/scim/v2{endpoint}", "count=1&startIndex=1")
        data = page.json_object
        assert page.status == 200 and data["itemsPerPage"] == 1 and len(data["Resources"]) == 1
        assert page.model is None and page.problem == ""  # graded as JSON, not as a User


# --- Okta's 429 handling (reference §1.1; a fake clock) ---------------------------------------


class FakeClock:
    """Time that moves only when the client sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def limiter(retry_after: list[str | None], then: int = 200) -> Callable[..., list[bytes]]:
    """A server answering 429 (with each ``retry_after``, None: no header) then ``then``."""
    script = list(retry_after)

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        if script:
            value = script.pop(0)
            headers = [("Content-Type", "application/scim+json")]
            if value is not None:
                headers.append(("Retry-After", value))
            start_response("429 Too Many Requests", headers)
            return [b'{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"429"}']
        body = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
                "totalResults": 0, "startIndex": 1, "itemsPerPage": 0, "Resources": []}  # fmt: skip
        start_response(f"{then} OK", [("Content-Type", "application/scim+json")])
        return [json.dumps(body).encode()]

    return app


def paced(app: Callable[..., Any], budget: float = 60.0) -> tuple[ScimClient, FakeClock, Any]:
    fake = FakeClock()
    served = ServedApp(app)
    policy = RateLimitPolicy(budget=budget, sleep=fake.sleep, clock=fake.clock)
    return client(served.url, pacing=policy, traffic=Traffic(), check="a check"), fake, served


def test_retry_after_seconds_is_read_as_okta_reads_it() -> None:
    assert retry_after_seconds("5") == 5 and retry_after_seconds(" 120 ") == 120
    for value in ("", "1.5", "-1", "Wed, 21 Oct 2026 07:28:00 GMT", "٣", "5s"):
        assert retry_after_seconds(value) is None, value


def test_okta_waits_retry_after_and_doubles_on_each_further_429() -> None:
    c, fake, served = paced(limiter(["3", "3", "3"]))
    try:
        result = c.list_users()
    finally:
        served.stop()
    assert result.status == 200 and result.stopped_by_rate_limit == ""
    assert fake.slept == [3, 6, 12]
    assert [e.outcome for e in result.rate_limits] == ["retried"] * 3
    assert [e.status for e in c.transcript.exchanges] == [429, 429, 429, 200]
    assert c.transcript.exchanges[-1].note.endswith("(attempt 4)")
    assert c.transcript.notes[0].startswith("HTTP 429 to GET http://127.0.0.1:")
    assert "Retry-After '3': Okta waits 3 s; the harness waited 3 s" in c.transcript.notes[0]
    assert "Okta waits 12 s (doubled for each of the 2 429s before it)" in c.transcript.notes[2]
    assert len(c.traffic.rate_limits) == 3 and len(c.traffic.timings) == 4
    assert {t.check for t in c.traffic.timings} == {"a check"}


@pytest.mark.parametrize(
    "retry_after", [None, "Wed, 21 Oct 2026 07:28:00 GMT", "2.5"], ids=["absent", "date", "frac"]
)
def test_without_whole_seconds_okta_waits_five_minutes_beyond_the_harness_deadline(
    retry_after: str | None,
) -> None:
    c, fake, served = paced(limiter([retry_after]))
    try:
        result = c.list_users()
    finally:
        served.stop()
    assert fake.slept == []  # 300 s > the 60 s the harness may spend: it stops at once
    assert result.status == 429 and result.stopped_by_rate_limit == "deadline"
    event = result.rate_limits[0]
    assert event.okta_wait == 300 and event.waited == 0
    assert "Okta's default of 5 minutes" in c.transcript.notes[0]
    assert "at most 60 s on one request" in c.transcript.notes[0]


def test_the_harness_deadline_stops_a_long_doubling() -> None:
    c, fake, served = paced(limiter(["10"] * 9), budget=100)
    try:
        result = c.list_users()
    finally:
        served.stop()
    assert fake.slept == [10, 20, 40]  # the next wait (80 s) would pass 100 s
    assert result.stopped_by_rate_limit == "deadline" and len(result.rate_limits) == 4


def test_okta_gives_up_after_ten_attempts() -> None:
    c, fake, served = paced(limiter(["0"] * 20), budget=10**6)
    try:
        result = c.list_users()
    finally:
        served.stop()
    assert len(c.transcript.exchanges) == 10 and fake.slept == [0] * 9
    assert result.status == 429 and result.stopped_by_rate_limit == "okta_gave_up"
    assert "Okta gives up after 10 attempts" in c.transcript.notes[-1]


def test_a_retried_create_is_in_the_ledger_once() -> None:
    app = create_app({"scim": {"auth_mode": "bearer", "token": TOKEN}}, {})
    first = limiter(["1"])

    def rate_limited_once(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        if environ["REQUEST_METHOD"] == "POST" and not getattr(rate_limited_once, "done", 0):
            rate_limited_once.done = 1  # type: ignore[attr-defined]
            return first(environ, start_response)
        return app(environ, start_response)

    c, fake, served = paced(rate_limited_once)
    try:
        made = c.create_user(create_user_body(PERSON))
        assert made.status == 201 and fake.slept == [1]
        assert c.ledger is not None and len(c.ledger.entries) == 1
        assert c.ledger.entries[0].id == made.id
        assert c.ledger.cleanup(c).clean
    finally:
        served.stop()


# --- timings ----------------------------------------------------------------------------------


def test_every_exchange_is_timed_and_the_slowest_are_listed(
    seeded: tuple[ServedApp, Recorder],
) -> None:
    served, _ = seeded
    traffic = Traffic()
    c = client(served.url, traffic=traffic, check="scim/test_x.py::test_y")
    c.connection_test()
    c.list_users()
    assert len(traffic.timings) == 3
    slowest = traffic.slowest(2)
    assert len(slowest) == 2 and slowest[0].elapsed_ms >= slowest[1].elapsed_ms
    assert all(t.check == "scim/test_x.py::test_y" and t.status == 200 for t in traffic.timings)
    assert traffic.over(60) == []
    assert traffic.over(0) == traffic.slowest(3)
    assert slowest[0].describe().endswith("-> HTTP 200") and " s  GET http" in slowest[0].describe()


# --- the target keys (additive to [scim]) -----------------------------------------------------


def _target(tmp_path: Path, extra: str) -> Path:
    path = tmp_path / "target.toml"
    path.write_text(
        '[app]\nbase_url = "http://127.0.0.1:9"\n[scim]\nbase_url = "/scim/v2"\n'
        f'{extra}\n[scim.auth]\nmode = "bearer"\ntoken = "t"\n'
    )
    return path


def test_entitlements_and_latency_limit_are_validated(tmp_path: Path) -> None:
    target = load(_target(tmp_path, 'entitlements = ["/Roles", "/Entitlements"]'))
    assert target.scim is not None and target.scim.entitlements == ["/Roles", "/Entitlements"]
    assert target.scim.latency_limit == 60
    bad = {
        'entitlements = ["Roles"]': "is not an entitlement endpoint",
        'entitlements = ["/Users"]': "/Users is not an entitlement endpoint",
        'entitlements = ["/Roles", "/Roles"]': "names an endpoint twice",
        'version = "1.1"\nentitlements = ["/Roles"]': 'entitlements need version = "2.0"',
        "latency_limit = 0": "latency_limit",
        "latency_limit = 90": "less than or equal to 60",
    }
    for extra, fragment in bad.items():
        with pytest.raises(TargetError) as info:
            load(_target(tmp_path, extra))
        assert fragment in str(info.value) and "[scim]" in str(info.value), extra
