"""The SCIM client role on its own: Okta's exact requests, auth modes, response checking,
and the ledger's data-safety rules (no plugin involved)."""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from scim2_models import Context, Group, User

from fixtures.reference_app.app import create_app
from oin_conformance.roles.scim import (
    CORE_1,
    OKTA_USER_AGENT,
    Auth,
    Ledger,
    Person,
    ScimClient,
    ScimClientError,
    active_patch_body,
    add_members_body,
    check_payload,
    create_group_body,
    create_user_body,
    lift_v1,
    profile_update_body,
    remove_members_body,
    rename_group_body,
    typed_patch,
)
from oin_conformance.roles.serve import ServedApp
from oin_conformance.transcript import Redactor, Transcript
from oin_conformance.wiring.scim import shielded

TOKEN = "unit-test-token-4242"
PREFIX = "oin-test-abc123"
PERSON = Person(
    f"{PREFIX}-Runscope123.Tabcdef123@example.com",
    "Runscope123",
    "Tabcdef123",
    f"{PREFIX}-Runscope123.Tabcdef123@example.com",
    "00uabcdefghijklmnopq",
    "1mz050nq",
)


class Recorder:
    """WSGI middleware that records each request exactly as it arrived."""

    def __init__(self, inner: Callable[..., Any]) -> None:
        self.inner = inner
        self.requests: list[dict[str, Any]] = []
        self.on_request: Callable[[dict[str, Any]], None] | None = None

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        import io

        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)
        headers = {
            k[5:].replace("_", "-").title(): v for k, v in environ.items() if k.startswith("HTTP_")
        }
        if environ.get("CONTENT_TYPE"):
            headers["Content-Type"] = environ["CONTENT_TYPE"]
        seen = {
            "method": environ["REQUEST_METHOD"],
            "path": environ.get("PATH_INFO", ""),
            "query": environ.get("QUERY_STRING", ""),
            "headers": headers,
            "body": json.loads(body) if body else None,
        }
        self.requests.append(seen)
        if self.on_request:
            self.on_request(seen)
        return self.inner(environ, start_response)


@pytest.fixture
def server() -> Iterator[tuple[ServedApp, Recorder]]:
    app = create_app({"scim": {"auth_mode": "bearer", "token": TOKEN}}, {})
    recorder = Recorder(app)
    served = ServedApp(recorder)
    yield served, recorder
    served.stop()


def client(
    url: str,
    version: str = "2.0",
    ledger: Ledger | None = None,
    auth: Auth | None = None,
    timeout: float = 5,
) -> ScimClient:
    base = url + ("/scim/v2" if version == "2.0" else "/scim/v1")
    return ScimClient(
        base,
        version=version,
        auth=auth or Auth("bearer", token=TOKEN),
        transcript=Transcript(Redactor([TOKEN])),
        timeout=timeout,
        ledger=ledger if ledger is not None else Ledger(PREFIX),
    )


# --- exact requests ----------------------------------------------------------------------------


def test_lookup_sends_okta_headers_and_query_order(server: tuple[ServedApp, Recorder]) -> None:
    served, rec = server
    c = client(served.url)
    result = c.find_user(PERSON.user_name)
    assert result.status == 200 and result.problem == ""
    req = rec.requests[-1]
    assert req["method"] == "GET" and req["path"] == "/scim/v2/Users"
    assert req["query"] == (
        "filter=userName%20eq%20%22oin-test-abc123-Runscope123.Tabcdef123%40example.com%22"
        "&startIndex=1&count=100"
    )
    h = req["headers"]
    assert h["User-Agent"] == OKTA_USER_AGENT == "Okta SCIM Client 1.0.0"
    assert h["Accept"] == "application/scim+json"
    assert h["Accept-Charset"] == "utf-8"
    assert h["Authorization"] == f"Bearer {TOKEN}"
    assert "Content-Type" not in h  # GETs carry no Content-Type


def test_create_sends_okta_body_round_tripping_through_scim2_models(
    server: tuple[ServedApp, Recorder],
) -> None:
    served, rec = server
    c = client(served.url)
    result = c.create_user(create_user_body(PERSON))
    assert result.status == 201 and result.id and result.problem == ""
    req = rec.requests[-1]
    assert req["headers"]["Content-Type"] == "application/scim+json; charset=utf-8"
    body = req["body"]
    assert list(body) == [
        "schemas", "userName", "name", "emails", "displayName", "locale", "externalId",
        "groups", "password", "active",
    ]  # fmt: skip
    assert body["emails"] == [{"primary": True, "value": PERSON.email, "type": "work"}]
    model: Any = User.model_validate(body, scim_ctx=Context.RESOURCE_CREATION_REQUEST)
    dumped = model.model_dump(scim_ctx=Context.RESOURCE_CREATION_REQUEST)
    # Okta also sends the read-only groups: [] (strict servers must ignore it).
    assert dumped == {k: v for k, v in body.items() if k != "groups"}


@pytest.mark.parametrize(
    ("body", "kind"),
    [
        (active_patch_body(False), "User"),
        (active_patch_body(True), "User"),
        (add_members_body([("u1", "Ada")]), "Group"),
        (remove_members_body(["u1", "u2"]), "Group"),
        (rename_group_body("g1", "Renamed"), "Group"),
    ],
    ids=["deactivate", "reactivate", "add_members", "remove_members", "rename"],
)
def test_patch_bodies_are_okta_shaped_scim_patchops(body: dict[str, Any], kind: str) -> None:
    assert typed_patch(body, kind).model_dump(scim_ctx=Context.RESOURCE_PATCH_REQUEST) == body  # type: ignore[arg-type]


def test_okta_shapes_in_detail() -> None:
    assert active_patch_body(False)["Operations"] == [{"op": "replace", "value": {"active": False}}]
    assert remove_members_body(["u1"])["Operations"] == [
        {"op": "remove", "path": 'members[value eq "u1"]'}
    ]
    assert rename_group_body("g1", "N")["Operations"][0]["value"] == {
        "id": "g1",
        "displayName": "N",
    }
    assert add_members_body([("u1", "Ada")])["Operations"][0]["value"] == [
        {"value": "u1", "display": "Ada"}
    ]
    group = create_group_body("G")
    assert group == {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "displayName": "G",
        "members": [],
    }
    dumped = Group.model_validate(group, scim_ctx=Context.RESOURCE_CREATION_REQUEST).model_dump(
        scim_ctx=Context.RESOURCE_CREATION_REQUEST
    )
    assert dumped == {k: v for k, v in group.items() if k != "members"}
    # SCIM 1.1 shapes (Okta's SCIM 1.1 reference)
    assert active_patch_body(False, "1.1", "u1") == {
        "schemas": [CORE_1],
        "id": "u1",
        "active": False,
    }
    assert remove_members_body(["u1"], "1.1") == {
        "schemas": [CORE_1],
        "members": [{"value": "u1", "operation": "delete"}],
    }
    assert rename_group_body("g1", "N", "1.1") == {
        "schemas": [CORE_1],
        "id": "g1",
        "displayName": "N",
    }
    assert create_user_body(PERSON, "1.1")["locale"] == "en_US"


def test_profile_update_echoes_the_server_object() -> None:
    current = {
        "schemas": ["x"],
        "id": "1",
        "meta": {"version": "1"},
        "name": {"givenName": "A", "familyName": "B"},
        "active": True,
    }
    body = profile_update_body(current, {"name": {"givenName": "A2"}})
    assert body == {**current, "name": {"givenName": "A2", "familyName": "B"}, "groups": []}
    assert current["name"] == {"givenName": "A", "familyName": "B"}  # not mutated


def test_full_lifecycle_requests_2_0(server: tuple[ServedApp, Recorder]) -> None:
    served, rec = server
    c = client(served.url)
    uid = c.create_user(create_user_body(PERSON)).id
    c.update_profile(uid, {"name": {"givenName": "X"}})
    c.set_active(uid, False)
    c.set_active(uid, True)
    gid = c.create_group(f"{PREFIX}-Group-1").id
    c.add_members(gid, [(uid, PERSON.user_name)])
    c.remove_members(gid, [uid])
    c.rename_group(gid, f"{PREFIX}-Group-2")
    c.delete_group(gid)
    c.list_users(1, 2)
    calls = [
        (r["method"], r["path"].replace(uid, "{u}").replace(gid, "{g}"), r["query"])
        for r in rec.requests
    ]
    assert calls == [
        ("POST", "/scim/v2/Users", ""),
        ("GET", "/scim/v2/Users/{u}", ""),
        ("PUT", "/scim/v2/Users/{u}", ""),
        ("PATCH", "/scim/v2/Users/{u}", ""),
        ("PATCH", "/scim/v2/Users/{u}", ""),
        ("POST", "/scim/v2/Groups", ""),
        ("PATCH", "/scim/v2/Groups/{g}", ""),
        ("PATCH", "/scim/v2/Groups/{g}", ""),
        ("PATCH", "/scim/v2/Groups/{g}", ""),
        ("DELETE", "/scim/v2/Groups/{g}", ""),
        ("GET", "/scim/v2/Users", "startIndex=1&count=2"),
    ]
    put = rec.requests[2]["body"]
    assert put["id"] == uid and put["groups"] == [] and put["name"]["givenName"] == "X"
    assert "meta" in put  # Okta echoes what the server returned


def test_scim_1_1_requests(server: tuple[ServedApp, Recorder]) -> None:
    served, rec = server
    c = client(served.url, "1.1")
    created = c.create_user(create_user_body(PERSON, "1.1"))
    assert created.status == 201 and created.problem == ""
    post = rec.requests[-1]
    assert post["headers"]["Accept"] == "application/json"
    assert post["headers"]["Content-Type"] == "application/json; charset=utf-8"
    assert post["body"]["schemas"] == [CORE_1]
    deact = c.set_active(created.id, False)
    assert deact.ok
    assert [r["method"] for r in rec.requests[-2:]] == ["GET", "PUT"]  # 1.1: GET + PUT
    assert rec.requests[-1]["body"]["active"] is False
    assert c.get_user(created.id).json_object["active"] is False
    gid = c.create_group(f"{PREFIX}-Group-1").id
    c.remove_members(gid, [created.id])
    assert rec.requests[-1]["body"]["members"] == [{"value": created.id, "operation": "delete"}]
    missing = c.get_user("nope")
    assert missing.status == 404 and missing.json_object == {
        "Errors": [{"description": "User 'nope' not found", "code": 404}]
    }
    assert missing.model is not None and missing.model.detail  # lifted to a 2.0 Error


# --- auth modes --------------------------------------------------------------------------------


def test_auth_header_forms() -> None:
    import requests

    t = Transcript()
    s = requests.Session()
    assert Auth("header", token="t0k").header(s, t, 1) == "t0k"
    assert Auth("bearer", token="t0k").header(s, t, 1) == "Bearer t0k"
    assert Auth("basic", username="okta", password="pw").header(s, t, 1) == "Basic b2t0YTpwdw=="


def test_oauth2_client_credentials_fetches_once_and_redacts() -> None:
    app = create_app(
        {"scim": {"auth_mode": "oauth2", "client_id": "cid", "client_secret": "csecret-123"}}, {}
    )
    served = ServedApp(app)
    try:
        auth = Auth(
            "oauth2",
            token_url=served.url + "/oauth/token",
            client_id="cid",
            client_secret="csecret-123",
        )
        c = client(served.url, auth=auth)
        assert c.list_users().status == 200
        assert c.list_users().status == 200
        posts = [e for e in c.transcript.exchanges if e.method == "POST"]
        assert len(posts) == 1  # the token is cached
        dumped = json.dumps(c.transcript.as_list())
        assert auth._access_token and auth._access_token not in dumped
        assert "csecret-123" not in dumped
        bad = Auth(
            "oauth2", token_url=served.url + "/oauth/token", client_id="cid", client_secret="wrong"
        )
        result = client(served.url, auth=bad).list_users()
        assert result.status is None and "token endpoint" in result.error
    finally:
        served.stop()


# --- robustness --------------------------------------------------------------------------------


def test_every_call_has_a_timeout() -> None:
    def slow(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        time.sleep(2)
        start_response("200 OK", [("Content-Type", "application/json")])
        return [b"{}"]

    served = ServedApp(slow)
    try:
        result = client(served.url, timeout=0.3).list_users()
        assert result.status is None and "timeout" in result.error
        assert result.seen()
    finally:
        served.stop()


@pytest.mark.parametrize(
    ("payload", "expect", "fragment"),
    [
        (
            {
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "id": "1",
                "userName": "u",
                "emails": [{"value": "not an email"}],
            },
            "user",
            "ResponsePayloadValidationException",
        ),
        ({"totalResults": 0, "Resources": []}, "users", ""),
        ([1, 2], "user", "not a JSON object"),
    ],
    ids=["bad_email", "list_without_schemas", "array"],
)
def test_response_checking_uses_scim2_client(payload: Any, expect: Any, fragment: str) -> None:
    _, problem = check_payload(payload, 200, {}, expect, "GET", "2.0")
    assert problem if not fragment else fragment in problem


def test_scim_1_1_payloads_are_lifted_to_2_0() -> None:
    lifted = lift_v1(
        {
            "schemas": [CORE_1],
            "totalResults": 1,
            "Resources": [{"schemas": [CORE_1], "id": "1", "userName": "u"}],
        },
        "users",
    )
    assert lifted["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:ListResponse"]
    assert lifted["Resources"][0]["schemas"] == ["urn:ietf:params:scim:schemas:core:2.0:User"]
    err = lift_v1({"Errors": [{"description": "dup", "code": 409}]}, "user")
    assert err == {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
        "detail": "dup",
        "status": "409",
    }


# --- the ledger --------------------------------------------------------------------------------


def test_create_is_journalled_before_the_request_leaves(
    server: tuple[ServedApp, Recorder], tmp_path: Path
) -> None:
    served, rec = server
    ledger = Ledger(PREFIX, journal_dir=tmp_path, run_id="abc123")
    seen_in_journal: list[bool] = []

    def on_request(req: dict[str, Any]) -> None:
        if req["method"] == "POST":
            text = "".join(p.read_text() for p in tmp_path.glob("*.json"))
            seen_in_journal.append(PERSON.user_name in text)

    rec.on_request = on_request
    c = client(served.url, ledger=ledger)
    c.create_user(create_user_body(PERSON))
    assert seen_in_journal == [True]
    report = ledger.cleanup(c)
    assert report.clean and len(report.deleted) == 1
    assert list(tmp_path.glob("*.json")) == []  # nothing open: no journal


def test_client_refuses_to_touch_what_the_run_did_not_create(
    server: tuple[ServedApp, Recorder],
) -> None:
    served, rec = server
    c = client(served.url)
    before = len(rec.requests)
    for call in (
        lambda: c.delete_user("someone"),
        lambda: c.delete_group("some-group"),
        lambda: c.set_active("someone", False),
        lambda: c.replace_user("someone", {}),
        lambda: c.rename_group("some-group", "x"),
        lambda: c.create_user(
            create_user_body(Person("ada@example.com", "A", "B", "ada@example.com", "00u", "p"))
        ),
        lambda: c.create_group("Engineering"),
    ):
        with pytest.raises(ScimClientError):
            call()
    assert len(rec.requests) == before  # nothing was sent


def _admin(url: str) -> ScimClient:
    """A client for seeding 'the ISV's own data' (a ledger with an empty prefix owns nothing
    the run makes, so tests seed with raw sends)."""
    return client(url, ledger=Ledger("zz-not-used"))


def test_cleanup_only_deletes_ids_that_still_carry_the_run_name(
    server: tuple[ServedApp, Recorder],
) -> None:
    served, _ = server
    ledger = Ledger(PREFIX)
    c = client(served.url, ledger=ledger)
    admin = _admin(served.url)
    theirs = admin.send(
        "POST",
        "/Users",
        body={
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": "isv-user@example.com",
        },
    )
    assert theirs.status == 201
    # A ledger entry whose id now names the ISV's user (e.g. ids reused after a restart).
    entry = ledger.intend("User", f"{PREFIX}-ghost@example.com")
    ledger.settle(entry, theirs.id, 201)
    report = ledger.cleanup(c)
    assert report.left and "not touched" in report.left[0]
    assert admin.get_user(theirs.id).status == 200


def test_cleanup_finds_resources_whose_create_answer_was_lost(
    server: tuple[ServedApp, Recorder],
) -> None:
    served, _ = server
    ledger = Ledger(PREFIX)
    c = client(served.url, ledger=ledger)
    made = c.create_user(create_user_body(PERSON))
    entry = ledger.find("User", made.id)
    assert entry is not None
    entry.id, entry.state = "", "pending"  # as if the 201 never arrived (timeout)
    report = ledger.cleanup(c)
    assert report.clean and any(made.id in d for d in report.deleted)
    assert _admin(served.url).get_user(made.id).status == 404


def test_users_the_server_cannot_delete_are_deactivated() -> None:
    app = create_app({"scim": {"auth_mode": "bearer", "token": TOKEN}}, {})

    def no_user_delete(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        if environ["REQUEST_METHOD"] == "DELETE" and "/Users/" in environ["PATH_INFO"]:
            start_response("405 Method Not Allowed", [("Content-Type", "application/scim+json")])
            return [
                b'{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"405","detail":"no"}'
            ]
        return app(environ, start_response)

    served = ServedApp(no_user_delete)
    try:
        ledger = Ledger(PREFIX)
        c = client(served.url, ledger=ledger)
        uid = c.create_user(create_user_body(PERSON)).id
        report = ledger.cleanup(c)
        assert report.clean and report.deactivated and not report.deleted
        assert c.get_user(uid).json_object["active"] is False
    finally:
        served.stop()


def test_leftovers_are_journalled_and_adopted_by_the_next_run(tmp_path: Path) -> None:
    app = create_app({"scim": {"auth_mode": "bearer", "token": TOKEN}}, {})
    broken = {"on": True}

    def flaky(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        if broken["on"] and environ["REQUEST_METHOD"] == "DELETE":
            start_response("500 Internal Server Error", [("Content-Type", "text/plain")])
            return [b"down"]
        return app(environ, start_response)

    served = ServedApp(flaky)
    try:
        first = Ledger(PREFIX, journal_dir=tmp_path, run_id="run1", scim_base=served.url)
        c = client(served.url, ledger=first)
        gid = c.create_group(f"{PREFIX}-Group-1").id
        report = first.cleanup(c)
        assert report.left and gid in report.left[0]
        journals = list(tmp_path.glob("*.json"))
        assert len(journals) == 1
        # Same process (pid alive): not adopted by someone else's run in progress ...
        assert Ledger.stale_journals(tmp_path, served.url, "run2") == []
        data = json.loads(journals[0].read_text())
        data["pid"] = 999_999_999  # ... but a dead run's journal is.
        journals[0].write_text(json.dumps(data))
        stale = Ledger.stale_journals(tmp_path, served.url, "run2")
        assert stale == journals
        assert Ledger.stale_journals(tmp_path, "http://elsewhere", "run2") == []
        broken["on"] = False
        second = Ledger("oin-test-run2", journal_dir=tmp_path, run_id="run2", scim_base=served.url)
        Ledger.adopt(stale[0], second)
        c2 = client(served.url, ledger=second)
        assert second.cleanup(c2).clean
        assert c2.get_group(gid).status == 404
        assert list(tmp_path.glob("*.json")) == []
    finally:
        served.stop()


def test_sweep_finds_strays_under_the_run_names_only(server: tuple[ServedApp, Recorder]) -> None:
    """A create whose answer was lost may still have landed (twice, on a server without
    uniqueness): the sweep looks its name up and takes in every resource carrying it; a
    resource under another run's prefix, or with a name the ledger never held, is left."""
    served, recorder = server
    ledger = Ledger(PREFIX)
    c = client(served.url, ledger=ledger)
    admin = _admin(served.url)
    name = f"{PREFIX}-Group-lost"
    entry = ledger.intend("Group", name, "a check")
    ledger.settle(entry, "", 504)  # the create's answer never came ...
    body = create_group_body(name, "2.0")
    twins = [admin.send("POST", "/Groups", body=body).id for _ in range(2)]  # ... but it landed
    other = admin.send("POST", "/Groups", body=create_group_body("oin-test-zzz999-Group", "2.0"))
    answered = c.create_group(f"{PREFIX}-Group-answered")
    before = len(recorder.requests)
    found = ledger.sweep(c)
    assert sorted(found) == sorted(f"Group {name!r} (id {t})" for t in twins)
    sent = recorder.requests[before:]
    # One lookup by name, for the unanswered create only; no list of the server's groups.
    assert [(r["method"], r["path"]) for r in sent] == [("GET", "/scim/v2/Groups")]
    assert "filter=" in sent[0]["query"] and not any(_listing(r) for r in sent)
    assert ledger.cleanup(c).clean
    assert all(admin.get_group(t).status == 404 for t in twins)
    assert admin.get_group(answered.id).status == 404
    assert admin.get_group(other.id).status == 200


def test_cleanup_finishes_when_interrupted() -> None:
    if threading.current_thread() is not threading.main_thread():
        pytest.skip("signals need the main thread")
    import signal

    app = create_app({"scim": {"auth_mode": "bearer", "token": TOKEN}}, {})
    served = ServedApp(app)
    try:
        ledger = Ledger(PREFIX)
        c = client(served.url, ledger=ledger)
        ids = [c.create_group(f"{PREFIX}-Group-{i}").id for i in range(3)]
        original = c.send
        sent: list[int] = []

        def send(*args: Any, **kw: Any) -> Any:
            if not sent:
                os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C in the middle of the cleanup
            sent.append(1)
            return original(*args, **kw)

        c.send = send  # type: ignore[method-assign]
        with pytest.raises(KeyboardInterrupt):
            ledger.cleanup(c, shield=shielded)
        c.send = original  # type: ignore[method-assign]
        assert all(c.get_group(g).status == 404 for g in ids)
    finally:
        served.stop()


def test_a_second_interrupt_stops_the_cleanup_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if threading.current_thread() is not threading.main_thread():
        pytest.skip("signals need the main thread")
    import signal

    said: list[str] = []
    app = create_app({"scim": {"auth_mode": "bearer", "token": TOKEN}}, {})
    served = ServedApp(app)
    try:
        ledger = Ledger(PREFIX, journal_dir=tmp_path / "journal", run_id="r1", say=said.append)
        c = client(served.url, ledger=ledger)
        for i in range(3):
            c.create_group(f"{PREFIX}-Group-{i}")
        original = c.send
        sent: list[str] = []

        def send(method: str, *args: Any, **kw: Any) -> Any:
            if len(sent) < 2:  # Ctrl-C twice: on the first read-back, then on the next request
                os.kill(os.getpid(), signal.SIGINT)
            sent.append(method)
            return original(method, *args, **kw)

        c.send = send  # type: ignore[method-assign]
        handler = signal.getsignal(signal.SIGINT)
        with pytest.raises(KeyboardInterrupt) as info:
            ledger.cleanup(c, shield=shielded)
        journal = next((tmp_path / "journal").glob("*.json"))
        assert str(info.value) == (
            "oin-conformance SCIM cleanup stopped by a second interrupt: 3 resource(s) this "
            f"run created may be left on the server; the journal {journal} (in the state "
            "folder) lists what is left, and the next run against this SCIM server removes it"
        )
        assert sent == ["GET"], "stopped before the DELETE left"
        assert said == [
            "oin-conformance SCIM: SIGINT received while removing what this run created; "
            "finishing that first (interrupt again to stop now: the journal "
            f"{journal} (in the state folder) lists what is left, and the next run against "
            "this SCIM server removes it)"
        ]
        assert len(json.loads(journal.read_text())["entries"]) == 3
        # Stopped means stopped: later cleanups in this process send nothing.
        report = ledger.cleanup(c)
        assert sent == ["GET"] and len(report.left) == 3
        assert signal.getsignal(signal.SIGINT) is handler
    finally:
        served.stop()


# --- the session role ------------------------------------------------------------------------


def _ctx(tmp_path: Path, auth: str) -> Any:
    from oin_conformance.runtime import RunContext
    from oin_conformance.state import StateFolder
    from oin_conformance.target import load

    target = tmp_path / "target.toml"
    target.write_text(
        '[app]\nbase_url = "http://127.0.0.1:9"\n[app.test_user]\nusername = "a@example.com"\n'
        f'[scim]\nbase_url = "/scim/v2"\n[scim.auth]\n{auth}\n'
    )
    t = load(target)
    return RunContext(
        target=t, seed=1, run_id="abc123", state=StateFolder(tmp_path / "state"),
        redactor=Redactor(t.secrets()), app_url="http://127.0.0.1:9",
    )  # fmt: skip


@pytest.mark.parametrize(
    ("auth", "expected"),
    [
        ('mode = "bearer"\ntoken = "tok-123456"', {"auth_mode": "bearer", "token": "tok-123456"}),
        ('mode = "header"\ntoken = "tok-123456"', {"auth_mode": "header", "token": "tok-123456"}),
        (
            'mode = "basic"\nusername = "okta"\npassword = "pw-123456"',
            {"auth_mode": "basic", "username": "okta", "password": "pw-123456"},
        ),
        (
            'mode = "oauth2"\ntoken_url = "/oauth/token"\nclient_id = "c"\n'
            'client_secret = "s-123456"',
            {
                "auth_mode": "oauth2",
                "client_id": "c",
                "client_secret": "s-123456",
                "token_path": "/oauth/token",
            },
        ),
    ],
    ids=["bearer", "header", "basic", "oauth2"],
)
def test_harness_info_gives_the_credentials_to_configure(
    tmp_path: Path, auth: str, expected: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from oin_conformance.wiring.scim import ScimSession, harness_info, session_for

    monkeypatch.delenv("PYTEST_XDIST_WORKER", raising=False)
    ctx = _ctx(tmp_path, auth)
    info = harness_info(ctx)
    assert {**info, **expected} == info and info["base_path"] == "/scim/v2"
    session = session_for(ctx)
    assert isinstance(session, ScimSession) and session_for(ctx) is session
    assert session.ledger.prefix == "oin-test-abc123"
    assert session.base_url == "http://127.0.0.1:9/scim/v2"
    ctx.close()


def test_session_prefix_is_per_xdist_worker(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from oin_conformance.wiring.scim import session_for

    monkeypatch.setenv("PYTEST_XDIST_WORKER", "gw1")
    ctx = _ctx(tmp_path, 'mode = "bearer"\ntoken = "tok-123456"')
    assert session_for(ctx).ledger.prefix == "oin-test-abc123-gw1"
    ctx.close()


def test_a_scim_only_run_keeps_its_journal_in_a_private_state_folder(tmp_path: Path) -> None:
    """No key is generated for SCIM; the journal's folder is made private all the same."""
    import stat

    from oin_conformance.state import GITIGNORE
    from oin_conformance.wiring.scim import session_for

    ctx = _ctx(tmp_path, 'mode = "bearer"\ntoken = "tok-123456"')
    session = session_for(ctx)
    session.start()
    entry = session.ledger.intend("User", f"{session.ledger.prefix}-u@example.com", "t")
    state = tmp_path / "state"
    assert stat.S_IMODE(state.stat().st_mode) == 0o700
    assert (state / ".gitignore").read_text() == GITIGNORE
    assert session.ledger.journal is not None and session.ledger.journal.exists()
    session.ledger.settle(entry, "", 500)
    entry.state = "deleted"  # nothing was sent: nothing to clean
    session.ledger._persist()
    ctx.close()


def test_cleanup_finds_every_copy_when_the_server_allowed_duplicates() -> None:
    """A server without uniqueness holds two users with the run's name; the lost create
    answer is recovered by name and both copies are removed, nothing else."""
    name = PERSON.user_name
    users = {
        "a1": {"id": "a1", "userName": name},
        "a2": {"id": "a2", "userName": name.lower()},
        "isv": {"id": "isv", "userName": "isv@example.com"},
    }

    def fake(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        path, method = environ["PATH_INFO"], environ["REQUEST_METHOD"]
        body: dict[str, Any]
        schema = {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"]}
        error = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"], "status": "404"}
        status, body = "404 Not Found", {**error, "detail": "no"}
        if path == "/scim/v2/Users":
            found = [u for u in users.values() if u["userName"].lower() == name.lower()]
            status = "200 OK"
            body = {
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
                "totalResults": len(found),
                "Resources": [{**schema, **u} for u in found],
            }
        elif path.startswith("/scim/v2/Users/") and path.rsplit("/", 1)[1] in users:
            uid = path.rsplit("/", 1)[1]
            if method == "DELETE":
                del users[uid]
                start_response("204 No Content", [])
                return [b""]
            status, body = "200 OK", {**schema, **users[uid]}
        start_response(status, [("Content-Type", "application/scim+json")])
        return [json.dumps(body).encode()]

    served = ServedApp(fake)
    try:
        ledger = Ledger(PREFIX)
        ledger.intend("User", name)  # the create whose answer never came back
        report = ledger.cleanup(client(served.url, ledger=ledger))
        assert report.clean and len(report.deleted) == 2
        assert list(users) == ["isv"]
    finally:
        served.stop()


def test_session_end_never_lists_the_server(
    tmp_path: Path, server: tuple[ServedApp, Recorder], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The session-end cleanup works from the journal: it never lists users or groups (a
    server with 10,000 of its own costs it nothing more), and a run whose creates were all
    answered 201 needs no lookup by name either."""
    import random

    from oin_conformance.wiring.scim import session_for

    served, recorder = server
    monkeypatch.delenv("PYTEST_XDIST_WORKER", raising=False)
    ctx = _ctx(tmp_path, f'mode = "bearer"\ntoken = "{TOKEN}"')
    ctx.app_url = served.url
    session = session_for(ctx)

    def reads() -> list[dict[str, Any]]:
        lists = ("/scim/v2/Users", "/scim/v2/Groups")
        return [r for r in recorder.requests if r["method"] == "GET" and r["path"] in lists]

    session.cleanup()
    assert reads() == []
    c = session.client(Transcript(), "a check")
    gid = c.create_group(session.ledger.new_name(random.Random(1), "Group")).id  # noqa: S311
    report = session.cleanup()
    assert report.deleted and report.clean and _admin(served.url).get_group(gid).status == 404
    assert reads() == []  # by id only (read back, delete, verify): no list, no filter
    ctx.close()
    assert reads() == [] and not any(_listing(r) for r in recorder.requests)


def _listing(request: dict[str, Any]) -> bool:
    return (
        request["method"] == "GET"
        and request["path"].endswith(("/Users", "/Groups"))
        and ("filter" not in request["query"])
    )


def test_cleanup_reads_skip_response_checks(server: tuple[ServedApp, Recorder]) -> None:
    """The harness's own cleanup reads need only the status and JSON (no scim2-client run)."""
    served, _ = server
    c = client(served.url)
    created = c.create_group(f"{PREFIX}-Group-checked")
    assert c.get_group(created.id).model is not None
    raw = c.get_group(created.id, validate=False)
    assert raw.ok and raw.model is None and raw.problem == "" and raw.id == created.id
    assert c.ledger is not None and c.ledger.cleanup(c).clean
