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
    assert set(flaws_scim.FLAWS) == set(flaws_scim.CAUGHT_BY) | set(flaws_scim.CONTROL_FLAWS)
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
