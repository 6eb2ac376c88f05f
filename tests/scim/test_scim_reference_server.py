"""The reference app's SCIM server on its own: scim2-server with the ISV's auth, the SCIM 1.1
front over the same store, and the planted flaws (each a small documented middleware)."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from werkzeug.test import Client

from fixtures.reference_app import flaws_scim
from fixtures.reference_app.app import create_app

CORE_1 = "urn:scim:schemas:core:1.0"
USER_2 = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_2 = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH_2 = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def app_client(info: dict[str, Any], options: dict[str, Any] | None = None) -> Any:
    return Client(create_app({"scim": info}, options or {}))


def post(c: Any, path: str, body: Any, auth: str, ctype: str = "application/scim+json") -> Any:
    return c.post(
        path, data=json.dumps(body), headers={"Authorization": auth, "Content-Type": ctype}
    )


@pytest.mark.parametrize(
    ("mode", "info", "good", "bad"),
    [
        (
            "header",
            {"token": "tok-123456"},
            ["tok-123456", "Bearer tok-123456"],
            ["Bearer nope", "nope", ""],
        ),
        (
            "bearer",
            {"token": "tok-123456"},
            ["Bearer tok-123456"],
            ["tok-123456", "Bearer nope", ""],
        ),
        (
            "basic",
            {"username": "okta", "password": "pw-123456"},
            ["Basic " + base64.b64encode(b"okta:pw-123456").decode()],
            ["Basic " + base64.b64encode(b"okta:nope").decode(), "Bearer pw-123456", ""],
        ),
    ],
    ids=["header", "bearer", "basic"],
)
def test_auth_modes(mode: str, info: dict[str, Any], good: list[str], bad: list[str]) -> None:
    c = app_client({"auth_mode": mode, **info})
    for value in good:
        assert c.get("/scim/v2/Users", headers={"Authorization": value}).status_code == 200
    for value in bad:
        r = c.get("/scim/v2/Users", headers={"Authorization": value} if value else {})
        assert r.status_code == 401
        assert r.json["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]


def test_oauth2_token_endpoint_issues_usable_tokens() -> None:
    c = app_client({"auth_mode": "oauth2", "client_id": "cid", "client_secret": "sec-123456"})
    basic = "Basic " + base64.b64encode(b"cid:sec-123456").decode()
    r = c.post(
        "/oauth/token", data={"grant_type": "client_credentials"}, headers={"Authorization": basic}
    )
    token = r.json["access_token"]
    assert c.get("/scim/v2/Users", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    wrong = "Basic " + base64.b64encode(b"cid:nope").decode()
    r = c.post(
        "/oauth/token", data={"grant_type": "client_credentials"}, headers={"Authorization": wrong}
    )
    assert r.status_code == 401
    assert c.get("/scim/v2/Users", headers={"Authorization": "Bearer forged"}).status_code == 401


def test_scim_1_1_front_over_the_same_store() -> None:
    c = app_client({"auth_mode": "header", "token": "tok-123456"})
    auth = "tok-123456"
    user = {
        "schemas": [CORE_1],
        "userName": "Ada@example.com",
        "name": {"givenName": "Ada", "familyName": "L"},
        "active": True,
    }
    r = post(c, "/scim/v1/Users", user, auth, "application/json")
    assert r.status_code == 201 and r.content_type == "application/json"
    assert r.json["schemas"] == [CORE_1] and "/scim/v1/Users/" in r.json["meta"]["location"]
    uid = r.json["id"]
    # The same user through SCIM 2.0
    assert c.get(f"/scim/v2/Users/{uid}", headers={"Authorization": auth}).json["schemas"] == [
        USER_2
    ]
    # 1.1 lists carry the core 1.0 URN
    listed = c.get(
        '/scim/v1/Users?filter=userName eq "ada@EXAMPLE.com"', headers={"Authorization": auth}
    ).json
    assert listed["schemas"] == [CORE_1] and listed["totalResults"] == 1
    # 1.1 partial-object PATCH of active answers the resource
    r = c.patch(
        f"/scim/v1/Users/{uid}",
        data=json.dumps({"schemas": [CORE_1], "id": uid, "active": False}),
        headers={"Authorization": auth},
    )
    assert r.status_code == 200 and r.json["active"] is False
    # 1.1 errors
    dup = post(c, "/scim/v1/Users", user, auth, "application/json")
    assert dup.status_code == 409 and dup.json["Errors"][0]["code"] == 409
    assert c.get("/scim/v1/Users/nope", headers={"Authorization": auth}).json == {
        "Errors": [{"description": "User 'nope' not found", "code": 404}]
    }
    assert c.get("/scim/v1/Users").json["Errors"][0]["code"] == 401
    # groups: add, delete-operation, full push with meta.attributes, rename
    other = post(c, "/scim/v1/Users", {**user, "userName": "bob@example.com"}, auth).json["id"]
    g = post(
        c,
        "/scim/v1/Groups",
        {
            "schemas": [CORE_1, "urn:okta:custom:group:1.0"],
            "displayName": "G",
            "urn:okta:custom:group:1.0": {"description": "d"},
        },
        auth,
    )
    assert g.status_code == 201
    gid = g.json["id"]

    def patch(body: dict[str, Any]) -> Any:
        return c.patch(
            f"/scim/v1/Groups/{gid}",
            data=json.dumps({"schemas": [CORE_1], **body}),
            headers={"Authorization": auth},
        )

    members = patch({"members": [{"value": uid}, {"value": other}]}).json["members"]
    assert {m["value"] for m in members} == {uid, other}
    r = patch({"members": [{"value": uid, "operation": "delete"}]})
    assert [m["value"] for m in r.json["members"]] == [other]
    r = patch({"meta": {"attributes": ["members"]}, "members": [{"value": uid}]})
    assert [m["value"] for m in r.json["members"]] == [uid]
    assert patch({"id": gid, "displayName": "G2"}).json["displayName"] == "G2"
    assert c.delete(f"/scim/v1/Groups/{gid}", headers={"Authorization": auth}).status_code == 204


def test_every_flaw_is_a_small_documented_middleware() -> None:
    assert set(flaws_scim.FLAWS) == (
        set(flaws_scim.CAUGHT_BY) | set(flaws_scim.CONTROL_FLAWS) | set(flaws_scim.BENIGN)
    )
    assert set(flaws_scim.ALSO_INCONCLUSIVE) | set(flaws_scim.TARGET_LINES) <= set(
        flaws_scim.CAUGHT_BY
    )
    assert len(flaws_scim.FLAWS) >= 10
    for name, flaw in flaws_scim.FLAWS.items():
        assert flaw.__doc__ and flaw.__doc__.strip(), name
        assert issubclass(flaw, flaws_scim.Flaw)
    assert flaws_scim.apply("not_a_scim_flaw", None, None) is None  # type: ignore[arg-type,unused-ignore]


def test_no_auth_flaw_answers_without_credentials() -> None:
    c = app_client({"auth_mode": "bearer", "token": "tok-123456"}, {"flaw": "scim_no_auth"})
    assert c.get("/scim/v2/Users").status_code == 200


def test_scim_1_1_discovery_endpoints_are_read_only_and_speak_1_1() -> None:
    """What Okta's SCIM 1.1 SPEC test steps 1-6 read, and the two flaws about them."""
    c = app_client({"auth_mode": "basic", "username": "okta", "password": "pw-123456"})
    auth = {"Authorization": "Basic " + base64.b64encode(b"okta:pw-123456").decode()}
    spc = c.get("/scim/v1/ServiceProviderConfigs", headers=auth)
    assert spc.status_code == 200 and spc.content_type == "application/json"
    assert spc.json["schemas"] == [CORE_1] and spc.json["bulk"]["maxOperations"] >= 1
    assert spc.json["authenticationSchemes"][0]["type"] == "httpbasic"
    assert spc.json["meta"]["location"].endswith("/scim/v1/ServiceProviderConfigs")
    types = c.get("/scim/v1/ResourceTypes", headers=auth).json
    assert types["schemas"] == [CORE_1]
    assert {(r["endpoint"], r["schema"]) for r in types["Resources"]} == {
        ("/Users", CORE_1),
        ("/Groups", CORE_1),
    }
    schemas = c.get("/scim/v1/Schemas", headers=auth).json
    assert f"{CORE_1}:ListResponse" in schemas["schemas"]
    ids = [r["id"] for r in schemas["Resources"]]
    assert f"{CORE_1}:User" in ids and all(r["attributes"] for r in schemas["Resources"])
    one = c.get(f"/scim/v1/Schemas/{CORE_1}:Group", headers=auth)
    assert one.status_code == 200 and one.json["id"] == f"{CORE_1}:Group"
    assert "urn:ietf" not in json.dumps([spc.json, types, schemas])
    for path in ("/ServiceProviderConfigs", "/ResourceTypes", "/Schemas"):
        r = c.post("/scim/v1" + path, data="test", headers={**auth, "Content-Type": "text/plain"})
        assert r.status_code == 405 and r.json["Errors"][0]["code"] == 405
    assert c.get("/scim/v1/Schemas").status_code == 401  # (the configuration is public)
    # The plain GET /Groups of Okta's SPEC tests (no paging parameters) answers a list.
    for version in ("v1", "v2"):
        assert c.get(f"/scim/{version}/Groups", headers=auth).json["Resources"] == []

    flawed = app_client(
        {"auth_mode": "header", "token": "tok-123456"},
        {"flaw": "scim_discovery_writable,scim_groups_need_paging"},
    )
    tok = {"Authorization": "tok-123456"}
    r = flawed.post("/scim/v1/ServiceProviderConfigs", data="test", headers=tok)
    assert r.status_code == 200 and r.json["schemas"] == [CORE_1]
    assert flawed.post("/scim/v1/Schemas", data="test", headers=tok).status_code == 405
    assert flawed.get("/scim/v1/Groups", headers=tok).status_code == 400
    assert flawed.get("/scim/v2/Groups", headers=tok).status_code == 400
    assert flawed.get("/scim/v1/Groups?startIndex=1&count=100", headers=tok).status_code == 200


OKTA_ROLE = "urn:okta:scim:schemas:core:1.0:Role"
OKTA_ENTITLEMENT = "urn:okta:scim:schemas:core:1.0:Entitlement"
TOK = {"Authorization": "Bearer tok-123456"}
BEARER = {"auth_mode": "bearer", "token": "tok-123456"}


def test_entitlement_endpoints_page_like_scim_lists() -> None:
    """SCIM 2.0 with entitlements: /Roles and /Entitlements in Okta's schema URNs, paged."""
    c = app_client(BEARER)
    for path, urn, total in (("/Roles", OKTA_ROLE, 3), ("/Entitlements", OKTA_ENTITLEMENT, 2)):
        page = c.get(f"/scim/v2{path}?count=1&startIndex=1", headers=TOK).json
        assert page["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:ListResponse"]
        assert (page["totalResults"], page["startIndex"], page["itemsPerPage"]) == (total, 1, 1)
        assert len(page["Resources"]) == 1 and page["Resources"][0]["schemas"] == [urn]
        assert page["Resources"][0]["id"] and page["Resources"][0]["displayName"]
    types = c.get("/scim/v2/ResourceTypes", headers=TOK).json["Resources"]
    assert {(t["endpoint"], t["schema"]) for t in types} >= {
        ("/Roles", OKTA_ROLE),
        ("/Entitlements", OKTA_ENTITLEMENT),
    }
    # Okta governs entitlements through SCIM 2.0 only: the 1.1 front does not list them.
    v1 = c.get("/scim/v1/ResourceTypes", headers=TOK).json
    assert v1["totalResults"] == 2 and "Role" not in json.dumps(v1)
    flawed = app_client(BEARER, {"flaw": "scim_entitlements_ignore_count"})
    page = flawed.get("/scim/v2/Roles?count=1&startIndex=1", headers=TOK).json
    assert page["itemsPerPage"] == 3 and len(page["Resources"]) == 3


def test_accounts_of_the_servers_own_span_several_import_pages() -> None:
    c = app_client(BEARER, {"scim_users": 150})
    first = c.get("/scim/v2/Users?startIndex=1&count=100", headers=TOK).json
    second = c.get("/scim/v2/Users?startIndex=101&count=100", headers=TOK).json
    assert first["totalResults"] == 150 and len(first["Resources"]) == 100
    assert len(second["Resources"]) == 50
    names = {u["userName"] for u in first["Resources"] + second["Resources"]}
    assert len(names) == 150 and not any(n.startswith("oin-test-") for n in names)
    # The short-pages flaw holds 150 accounts too, and serves no more than 50 per page.
    short = app_client(BEARER, {"flaw": "scim_short_pages"})
    page = short.get("/scim/v2/Users?startIndex=1&count=100", headers=TOK).json
    assert (page["totalResults"], page["itemsPerPage"], len(page["Resources"])) == (150, 50, 50)


def _user(name: str, **extra: Any) -> dict[str, Any]:
    return {"schemas": [USER_2], "userName": name, **extra}


def test_flaws_about_okta_bodies_and_content_types() -> None:
    c = app_client(BEARER, {"flaw": "scim_rejects_okta_password"})
    r = post(c, "/scim/v2/Users", _user("a@example.com", password="1mz050nq"), TOK["Authorization"])
    assert r.status_code == 400 and "password" in r.json["detail"]
    ok = _user("b@example.com", password="a-long-enough-passphrase")
    assert post(c, "/scim/v2/Users", ok, TOK["Authorization"]).status_code == 201
    c = app_client(BEARER, {"flaw": "scim_rejects_read_only_groups"})
    r = post(c, "/scim/v2/Users", _user("c@example.com", groups=[]), TOK["Authorization"])
    assert r.status_code == 400 and r.json["scimType"] == "mutability"
    assert (
        post(c, "/scim/v2/Users", _user("d@example.com"), TOK["Authorization"]).status_code == 201
    )
    c = app_client(BEARER, {"flaw": "scim_requires_scim_json"})
    body = _user("e@example.com")
    r = post(c, "/scim/v2/Users", body, TOK["Authorization"], "application/json")
    assert r.status_code == 415
    assert post(c, "/scim/v2/Users", body, TOK["Authorization"]).status_code == 201
    # The reference server itself reads both (Okta's SPEC test POSTs application/json).
    plain = app_client(BEARER)
    r = post(plain, "/scim/v2/Users", body, TOK["Authorization"], "application/json")
    assert r.status_code == 201


def test_flaws_about_group_patches() -> None:
    auth = TOK["Authorization"]
    for flaw in ("", "scim_patch_first_operation_only", "scim_rename_conflicts_with_itself"):
        c = app_client(BEARER, {"flaw": flaw} if flaw else {})
        u1, u2 = (post(c, "/scim/v2/Users", _user(f"{n}@example.com"), auth).json["id"]
                  for n in ("u1", "u2"))  # fmt: skip
        gid = post(c, "/scim/v2/Groups", {"schemas": [GROUP_2], "displayName": "G",
                                          "members": [{"value": u1}]}, auth).json["id"]  # fmt: skip

        def patch(*ops: dict[str, Any], _c: Any = c, _gid: str = gid) -> Any:
            body = {"schemas": [PATCH_2], "Operations": list(ops)}
            return _c.patch(f"/scim/v2/Groups/{_gid}", data=json.dumps(body), headers=TOK)

        rename = patch({"op": "replace", "value": {"id": gid, "displayName": "G"}})
        members = patch(
            {"op": "remove", "path": f'members[value eq "{u1}"]'},
            {"op": "add", "path": "members", "value": [{"value": u2, "display": "u2"}]},
        )
        back = c.get(f"/scim/v2/Groups/{gid}", headers=TOK).json
        ids = [m["value"] for m in back.get("members") or []]
        if flaw == "scim_rename_conflicts_with_itself":
            assert rename.status_code == 409 and rename.json["scimType"] == "uniqueness"
            other = patch({"op": "replace", "value": {"id": gid, "displayName": "H"}})
            assert other.status_code in (200, 204)  # another name is fine
        else:
            assert rename.status_code in (200, 204)
        assert members.status_code in (200, 204)
        assert ids == ([] if flaw == "scim_patch_first_operation_only" else [u2]), flaw


def test_rate_limit_and_slow_flaws(monkeypatch: pytest.MonkeyPatch) -> None:
    import email.utils

    c = app_client(BEARER, {"flaw": "scim_rate_limits"})
    answers = [c.get("/scim/v2/Users", headers=TOK) for _ in range(3)]
    assert [a.status_code for a in answers] == [429, 429, 200]
    assert answers[0].headers["Retry-After"] == "1"
    c = app_client(BEARER, {"flaw": "scim_rate_limit_retry_after_date"})
    limited = c.get("/scim/v2/Users", headers=TOK)
    assert limited.status_code == 429
    assert email.utils.parsedate_to_datetime(limited.headers["Retry-After"]) is not None
    assert c.get("/scim/v2/Users", headers=TOK).status_code == 200
    slept: list[float] = []
    monkeypatch.setattr(flaws_scim.time, "sleep", slept.append)
    c = app_client(BEARER, {"flaw": "scim_slow_connection_test"})
    assert c.get("/scim/v2/Users?startIndex=1&count=100", headers=TOK).status_code == 200
    assert slept == []
    assert c.get("/scim/v2/Users?startIndex=1&count=2", headers=TOK).status_code == 200
    assert slept == [flaws_scim.SlowConnectionTest.DELAY]


def _twin_client(monkeypatch: pytest.MonkeyPatch, storage: type[Any]) -> Any:
    """The reference SCIM app over ``storage``, with predictable ids (in no creation order)
    and a fixed clock, so two apps given the same requests answer byte for byte alike."""
    import datetime
    import hashlib

    from fixtures.reference_app import scim_server

    class Predictable(storage):
        def __init__(self) -> None:
            super().__init__()
            self.clock = lambda: datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=datetime.UTC)
            self.made = 0

        def generate_id(self, resource_type: Any, resource: Any) -> str:
            self.made += 1
            return hashlib.sha256(str(self.made).encode()).hexdigest()[:32]

    monkeypatch.setattr(scim_server, "IndexedStorage", Predictable)
    return app_client(BEARER)


def test_indexed_storage_answers_as_scim2_servers_own(monkeypatch: pytest.MonkeyPatch) -> None:
    """The reference server's storage (scim2-server's in-memory storage with an id-order index
    for unfiltered pages) answers every list, page and lookup byte for byte as scim2-server's
    own storage does, through creates and deletes, in SCIM 2.0 and 1.1."""
    from scim2_server.memory import InMemoryStorage

    from fixtures.reference_app.scim_storage import IndexedStorage

    auth = BEARER["token"]
    headers = {"Authorization": f"Bearer {auth}"}
    answers: list[list[tuple[int, bytes]]] = []
    for storage in (InMemoryStorage, IndexedStorage):
        c = _twin_client(monkeypatch, storage)
        seen: list[tuple[int, bytes]] = []
        ids = []
        for n in range(40):
            user: dict[str, Any] = {"schemas": [USER_2], "userName": f"twin-{n:02d}@example.com"}
            r = post(c, "/scim/v2/Users", user, f"Bearer {auth}")
            assert r.status_code == 201, r.data
            ids.append(r.get_json()["id"])
            seen.append((r.status_code, r.data))
        for n in range(4):
            members = [{"value": i} for i in ids[n : n + 3]]
            group = {"schemas": [GROUP_2], "displayName": f"twin-group-{n}", "members": members}
            seen.append((post(c, "/scim/v2/Groups", group, f"Bearer {auth}").status_code, b""))
        for gone in ids[5:12]:
            seen.append((c.delete(f"/scim/v2/Users/{gone}", headers=headers).status_code, b""))
        queries = [
            "", "?startIndex=1&count=10", "?startIndex=11&count=10", "?startIndex=31&count=10",
            "?count=0", "?startIndex=100&count=10", "?startIndex=0&count=5", "?count=2",
            "?startIndex=7", '?filter=userName eq "TWIN-03@example.com"',
            "?sortBy=userName&sortOrder=descending&count=5",
        ]  # fmt: skip
        for base in ("/scim/v2", "/scim/v1"):
            for kind in ("Users", "Groups"):
                for query in queries:
                    r = c.get(f"{base}/{kind}{query}", headers=headers)
                    seen.append((r.status_code, r.data))
        answers.append(seen)
    plain, indexed = answers
    assert len(plain) == len(indexed)
    for n, (a, b) in enumerate(zip(plain, indexed, strict=True)):
        assert a == b, (n, a[1][:300], b[1][:300])
