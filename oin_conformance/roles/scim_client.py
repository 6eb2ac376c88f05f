"""Okta's provisioning engine as a SCIM client (SCIM 2.0 and 1.1), with a data-safety ledger.

:class:`ScimClient` sends exactly what Okta sends (``shared/reference/scim.md`` §1): the
``Okta SCIM Client 1.0.0`` User-Agent, Accept/Content-Type per SCIM version, ``filter`` first
then ``startIndex``/``count`` in query strings, Okta's request bodies (path-less PATCH
``replace`` for ``active``, ``members[value eq "…"]`` removal, rename with the read-only ``id``;
SCIM 1.1 partial-object PATCHes), and the four auth modes (raw header token, Bearer, Basic,
OAuth 2 client credentials). Every exchange is recorded into a :class:`Transcript` and every
call has a timeout. Responses are checked by scim2-client's checking layer
(:meth:`scim2_client.SCIMClient.check_response`) against scim2-models; SCIM 1.1 payloads are
lifted to their 2.0 form first (the schemas are the same attributes under other URNs).

:class:`Ledger` makes the run safe for the ISV's data: a resource is written to the ledger
(and to a journal file in the state folder) *before* the request that creates it is sent,
its id is added when the answer comes back, and the client refuses to modify or delete any
id the ledger does not hold. Cleanup re-reads each resource and deletes it only when it still
carries the name the run gave it (deactivating users when the server cannot delete them);
what cannot be cleaned stays in the journal, is reported, and is retried by the next run.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import signal
import socket
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import quote

import requests
from scim2_client.client import BaseSyncSCIMClient
from scim2_client.errors import SCIMClientException
from scim2_models import (
    Context,
    EnterpriseUser,
    Group,
    ListResponse,
    PatchOp,
    PatchOperation,
    ResourceType,
    SCIMException,
    ScimPolicy,
    ScimProvider,
    User,
)

from oin_conformance.roles.browser import (
    DeadlineExceeded,
    decode_body,
    describe_error,
    exchange,
    watched_session,
)
from oin_conformance.transcript import JsonTooDeep, Transcript, load_json

if TYPE_CHECKING:
    from oin_conformance.target import ScimAuth

OKTA_USER_AGENT = "Okta SCIM Client 1.0.0"

USER_URN = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_URN = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE_URN = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
LIST_URN = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
PATCH_URN = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
ERROR_URN = "urn:ietf:params:scim:api:messages:2.0:Error"
CORE_1 = "urn:scim:schemas:core:1.0"
ENTERPRISE_1 = "urn:scim:schemas:extension:enterprise:1.0"

Kind = Literal["User", "Group"]
Expect = Literal["user", "group", "users", "groups", "none"]

#: Headers Okta's provisioning engine sends, per SCIM version (reference §1.1).
HEADERS: dict[str, dict[str, str]] = {
    "2.0": {
        "Accept": "application/scim+json",
        "Accept-Charset": "utf-8",
        "Accept-Encoding": "gzip,deflate",
        "User-Agent": OKTA_USER_AGENT,
    },
    "1.1": {
        "Accept": "application/json",
        "Accept-Charset": "utf-8",
        "Accept-Encoding": "gzip,deflate",
        "User-Agent": OKTA_USER_AGENT,
    },
}
BODY_CONTENT_TYPE = {
    "2.0": "application/scim+json; charset=utf-8",
    "1.1": "application/json; charset=utf-8",
}
MAX_BODY = 2 * 1024 * 1024
#: An OAuth 2 token response is a few hundred bytes.
MAX_TOKEN_BODY = 64 * 1024


class ScimClientError(Exception):
    """The client refused to do something (e.g. touch a resource the run did not create)."""


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


# --- auth --------------------------------------------------------------------------------------


class Auth:
    """The credentials Okta would be configured with, as an ``Authorization`` header."""

    def __init__(
        self,
        mode: str,
        *,
        token: str = "",
        username: str = "",
        password: str = "",
        token_url: str = "",
        client_id: str = "",
        client_secret: str = "",
        resolve: Callable[[str], str] = lambda u: u,
    ) -> None:
        self.mode = mode
        self.token = token
        self.username = username
        self.password = password
        self.token_url = token_url
        self.client_id = client_id
        self.client_secret = client_secret
        self.resolve = resolve
        self._access_token = ""
        self._expires = 0.0
        self._lock = threading.Lock()

    @classmethod
    def from_target(cls, auth: ScimAuth, url: Callable[[str], str] = lambda u: u) -> Auth:
        def secret(value: Any) -> str:
            return value.get_secret_value() if value is not None else ""

        return cls(
            auth.mode,
            token=secret(auth.token),
            username=auth.username or "",
            password=secret(auth.password),
            token_url=auth.token_url or "",
            client_id=auth.client_id or "",
            client_secret=secret(auth.client_secret),
            resolve=url,
        )

    def secrets(self) -> list[str]:
        found = [self.token, self.password, self.client_secret, self._access_token]
        if self.mode == "basic":
            found.append(f"{self.username}:{self.password}")
        return [s for s in found if s]

    def header(self, session: requests.Session, transcript: Transcript, timeout: float) -> str:
        if self.mode == "header":
            return self.token
        if self.mode == "bearer":
            return f"Bearer {self.token}"
        if self.mode == "basic":
            pair = f"{self.username}:{self.password}".encode()
            return "Basic " + base64.b64encode(pair).decode()
        return f"Bearer {self._oauth_token(session, transcript, timeout)}"

    def _oauth_token(
        self, session: requests.Session, transcript: Transcript, timeout: float
    ) -> str:
        with self._lock:
            if self._access_token and time.monotonic() < self._expires - 30:
                return self._access_token
            started = time.perf_counter()
            token_url = self.resolve(self.token_url)
            data = {"grant_type": "client_credentials"}
            pair = f"{quote(self.client_id, safe='')}:{quote(self.client_secret, safe='')}"
            headers = {
                "Authorization": "Basic " + base64.b64encode(pair.encode()).decode(),
                "Accept": "application/json",
                "User-Agent": OKTA_USER_AGENT,
            }
            req_headers = {**headers, "Content-Type": "application/x-www-form-urlencoded"}
            prepared = session.prepare_request(
                requests.Request("POST", token_url, data=data, headers=headers)
            )
            try:
                resp, raw = exchange(session, prepared, timeout=timeout, max_body=MAX_TOKEN_BODY)
            except requests.RequestException as exc:
                reason = describe_error(exc, timeout)
                late = exc.response if isinstance(exc, DeadlineExceeded) else None
                transcript.record(
                    method="POST",
                    url=token_url,
                    request_headers=req_headers,
                    request_body="grant_type=client_credentials",
                    status=late.status_code if late is not None else None,
                    response_headers={},
                    response_body=None,
                    started=started,
                    error=reason,
                    note="OAuth 2 token request",
                )
                raise ScimClientError(f"token endpoint unreachable: {reason}") from None
            text = decode_body(raw, resp.encoding)
            answer = _json_object(text)
            fresh = [t for t in _token_of(answer) if t != self._access_token]
            if fresh:
                transcript.redactor = transcript.redactor.with_secrets(fresh)
            transcript.record(
                method="POST",
                url=token_url,
                request_headers=req_headers,
                request_body="grant_type=client_credentials",
                status=resp.status_code,
                response_headers=dict(resp.headers),
                response_body=text,
                started=started,
                note="OAuth 2 token request",
            )
            tokens = _token_of(answer)
            token = tokens[0] if tokens else ""
            if resp.status_code != 200 or not token:
                raise ScimClientError(
                    f"the token endpoint answered HTTP {resp.status_code} without an access_token"
                )
            try:
                lifetime = float(answer.get("expires_in", 3600))
            except (ValueError, TypeError, OverflowError):
                lifetime = 3600.0
            self._access_token = token
            self._expires = time.monotonic() + lifetime
            return token


def _json_object(text: str) -> dict[str, Any]:
    """The JSON object in ``text``, or ``{}`` (not JSON, too deep, not an object)."""
    try:
        data = load_json(text)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _token_of(answer: Mapping[str, Any]) -> list[str]:
    token = answer.get("access_token")
    return [token] if isinstance(token, str) and token else []


# --- results -----------------------------------------------------------------------------------


@dataclass
class ScimResult:
    """One exchange: the raw answer, its JSON, and what scim2-client's checks made of it."""

    method: str
    url: str
    status: int | None
    headers: dict[str, str]
    text: str
    data: Any = None
    #: The validated scim2-models object (User, Group, ListResponse, Error) or None.
    model: Any = None
    #: Why scim2-client's checking layer refused the response ("" when it accepted it).
    problem: str = ""
    #: Network error instead of a response.
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    def header(self, name: str) -> str:
        for key, value in self.headers.items():
            if key.lower() == name.lower():
                return value
        return ""

    @property
    def json_object(self) -> dict[str, Any]:
        return self.data if isinstance(self.data, dict) else {}

    @property
    def id(self) -> str:
        value = self.json_object.get("id")
        return value if isinstance(value, str) else ""

    def resources(self) -> list[dict[str, Any]]:
        """``Resources`` of a list response (Okta also tolerates lowercase ``resources``)."""
        obj = self.json_object
        found = obj.get("Resources", obj.get("resources", []))
        return [r for r in found if isinstance(r, dict)] if isinstance(found, list) else []

    def seen(self, limit: int = 1500) -> str:
        """A short text of what came back, for a failure's ``seen``."""
        if self.status is None:
            return f"{self.method} {self.url}: {self.error}"
        body = self.text if len(self.text) <= limit else self.text[:limit] + " …"
        ctype = self.header("Content-Type") or "no Content-Type"
        return f"{self.method} {self.url} -> HTTP {self.status} ({ctype})\n{body or '(empty body)'}"


class _Checker(BaseSyncSCIMClient):
    """scim2-client's checking layer, without its transport (we send Okta's exact bytes)."""

    def request(self, method: str, url: str, **kwargs: Any) -> Any:  # pragma: no cover
        raise NotImplementedError("requests are sent by ScimClient")


def _checker() -> _Checker:
    provider = ScimProvider(
        models=[User, EnterpriseUser, Group],
        resource_types=[
            ResourceType.from_resource(User[EnterpriseUser]),
            ResourceType.from_resource(Group),
        ],
        policy=ScimPolicy(unknown=ScimPolicy.Unknown.ignore),
    )
    # Okta accepts text/json and friends, so content type is graded separately (advisory);
    # status codes are graded by the checks, which know what Okta expects at each step.
    return _Checker(
        provider=provider,
        check_response_content_type=False,
        check_response_status_codes=False,
        raise_scim_errors=False,
    )


_CHECKER = _checker()
_USER_MODEL: Any = _CHECKER.provider.model_for("User")
_EXPECTED_TYPES: dict[str, list[Any]] = {
    "user": [_USER_MODEL],
    "group": [Group],
    "users": [ListResponse[_USER_MODEL]],
    "groups": [ListResponse[Group]],
}
_CONTEXTS = {
    "POST": Context.RESOURCE_CREATION_RESPONSE,
    "PUT": Context.RESOURCE_REPLACEMENT_RESPONSE,
    "PATCH": Context.RESOURCE_PATCH_RESPONSE,
    "GET": Context.RESOURCE_QUERY_RESPONSE,
    "DELETE": Context.RESOURCE_QUERY_RESPONSE,
}


def lift_v1(data: Any, expect: Expect) -> Any:
    """A SCIM 1.1 payload in its SCIM 2.0 form (same attributes, 2.0 URNs, 2.0 Error)."""
    if not isinstance(data, dict):
        return data
    errors = data.get("Errors")
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        first = errors[0]
        return {
            "schemas": [ERROR_URN],
            "detail": str(first.get("description", "")),
            "status": str(first.get("code", "")),
        }
    out = dict(data)
    if expect in ("users", "groups") and ("Resources" in out or "totalResults" in out):
        out["schemas"] = [LIST_URN]
        single: Expect = "user" if expect == "users" else "group"
        out["Resources"] = [lift_v1(r, single) for r in out.get("Resources", []) or []]
        return out
    schemas = out.get("schemas")
    if isinstance(schemas, list) and CORE_1 in schemas:
        urn = GROUP_URN if expect in ("group", "groups") else USER_URN
        out["schemas"] = [urn] + ([ENTERPRISE_URN] if ENTERPRISE_1 in schemas else [])
        if ENTERPRISE_1 in out:
            out[ENTERPRISE_URN] = out.pop(ENTERPRISE_1)
    return out


def check_payload(
    data: Any, status: int, headers: Mapping[str, str], expect: Expect, method: str, version: str
) -> tuple[Any, str]:
    """Run scim2-client's response checks; return (model, problem)."""
    if expect == "none" and not (isinstance(data, dict) and data.get("schemas")):
        return None, ""
    payload = lift_v1(data, expect) if version == "1.1" else data
    if payload is not None and not isinstance(payload, dict):
        return None, "the response body is not a JSON object"
    lower = {k.lower(): v for k, v in headers.items()}
    types = _EXPECTED_TYPES.get(expect, [])
    try:
        model = _CHECKER.check_response(
            payload=payload,
            status_code=status,
            headers=lower,
            expected_types=types,
            scim_ctx=_CONTEXTS.get(method),
        )
    except (SCIMClientException, SCIMException) as exc:
        notes = " ".join(getattr(exc, "__notes__", []) or [])
        return None, f"{type(exc).__name__}: {exc} {notes}".strip()
    except Exception as exc:  # noqa: BLE001 - a hostile payload must not crash the run
        return None, f"{type(exc).__name__}: {exc}"
    return model, ""


# --- the client ------------------------------------------------------------------------------


class ScimClient:
    """Okta's provisioning engine talking to one SCIM server, recorded into one transcript."""

    def __init__(
        self,
        base_url: str,
        *,
        version: str = "2.0",
        auth: Auth,
        transcript: Transcript,
        timeout: float = 15.0,
        ledger: Ledger | None = None,
        check: str = "",
        session: requests.Session | None = None,
    ) -> None:
        if version not in HEADERS:
            raise ValueError(f"SCIM version must be 2.0 or 1.1, not {version!r}")
        self.base_url = base_url.rstrip("/")
        self.version = version
        self.auth = auth
        self.transcript = transcript
        self._hidden: set[str] = set()
        self._hide(auth.secrets())
        self.timeout = timeout
        self.ledger = ledger
        self.check = check
        self.session = watched_session(session)
        self.session.trust_env = False
        self.session.headers.clear()

    def close(self) -> None:
        self.session.close()

    def _hide(self, secrets: list[str]) -> None:
        """Redact these values (by value) in this client's transcript from now on."""
        new = [s for s in secrets if s not in self._hidden]
        if new:
            self._hidden.update(new)
            self.transcript.redactor = self.transcript.redactor.with_secrets(new)

    # -- one exchange ---------------------------------------------------------------------

    def send(
        self,
        method: str,
        path: str,
        *,
        query: list[tuple[str, str]] | None = None,
        body: Mapping[str, Any] | None = None,
        raw_body: str | None = None,
        expect: Expect = "none",
        authorization: str | None = None,
        note: str = "",
        validate: bool = True,
    ) -> ScimResult:
        """One request exactly as Okta builds it; ``authorization`` overrides the credentials
        ("" sends none). ``raw_body`` sends a body that is not JSON (Okta's SPEC test POSTs
        ``test`` to the discovery endpoints). ``validate=False`` skips scim2-client's response
        checks (the harness's own cleanup reads, which only need the status and the JSON)."""
        url = self.base_url + path
        if query:
            url += "?" + "&".join(f"{k}={quote(v, safe='')}" for k, v in query)
        headers = dict(HEADERS[self.version])
        data: bytes | None = None
        if body is not None or raw_body is not None:
            headers["Content-Type"] = BODY_CONTENT_TYPE[self.version]
            data = json.dumps(body).encode() if body is not None else str(raw_body).encode()
        if authorization is None:
            try:
                headers["Authorization"] = self.auth.header(
                    self.session, self.transcript, self.timeout
                )
                self._hide(self.auth.secrets())
            except ScimClientError as exc:
                return ScimResult(method, url, None, {}, "", error=str(exc))
        elif authorization:
            headers["Authorization"] = authorization
        started = time.perf_counter()
        prepared = self.session.prepare_request(
            requests.Request(method, url, data=data, headers=headers)
        )
        try:
            resp, raw = exchange(self.session, prepared, timeout=self.timeout, max_body=MAX_BODY)
        except requests.RequestException as exc:
            reason = describe_error(exc, self.timeout)
            late = exc.response if isinstance(exc, DeadlineExceeded) else None
            self.transcript.record(
                method=method,
                url=url,
                request_headers=dict(prepared.headers),
                request_body=data,
                status=late.status_code if late is not None else None,
                response_headers=dict(late.headers) if late is not None else {},
                response_body=None,
                started=started,
                error=reason,
                note=note,
            )
            return ScimResult(method, url, None, {}, "", error=reason)
        text = decode_body(raw, resp.encoding)
        resp_headers = dict(resp.headers)
        self.transcript.record(
            method=method,
            url=url,
            # what went on the wire (requests adds Host, Content-Length, Connection)
            request_headers=dict(prepared.headers),
            request_body=data,
            status=resp.status_code,
            response_headers=resp_headers,
            response_body=text,
            started=started,
            note=note,
        )
        parsed: Any = None
        problem = ""
        if text.strip():
            try:
                parsed = load_json(text)
            except JsonTooDeep as exc:
                problem = f"the response body is not JSON a client can read: {exc}"
            except ValueError:
                problem = "the response body is not JSON"
        model = None
        if not problem and validate:
            model, problem = check_payload(
                parsed, resp.status_code, resp_headers, expect, method, self.version
            )
        return ScimResult(method, url, resp.status_code, resp_headers, text, parsed, model, problem)

    # -- reads ----------------------------------------------------------------------------

    def list_users(self, start_index: int = 1, count: int = 100, **kw: Any) -> ScimResult:
        """``GET /Users?startIndex=&count=`` (import; the connection test uses count=2)."""
        q = [("startIndex", str(start_index)), ("count", str(count))]
        return self.send("GET", "/Users", query=q, expect="users", **kw)

    def find_user(self, user_name: str, **kw: Any) -> ScimResult:
        """``GET /Users?filter=userName eq "…"&startIndex=1&count=100`` (before every create)."""
        q = [("filter", f'userName eq "{user_name}"'), ("startIndex", "1"), ("count", "100")]
        return self.send("GET", "/Users", query=q, expect="users", **kw)

    def get_user(self, user_id: str, **kw: Any) -> ScimResult:
        return self.send("GET", f"/Users/{quote(user_id, safe='')}", expect="user", **kw)

    def list_groups(self, start_index: int = 1, count: int = 100, **kw: Any) -> ScimResult:
        q = [("startIndex", str(start_index)), ("count", str(count))]
        return self.send("GET", "/Groups", query=q, expect="groups", **kw)

    def find_group(self, display_name: str, **kw: Any) -> ScimResult:
        q = [("filter", f'displayName eq "{display_name}"'), ("startIndex", "1"), ("count", "100")]
        return self.send("GET", "/Groups", query=q, expect="groups", **kw)

    def get_group(self, group_id: str, **kw: Any) -> ScimResult:
        return self.send("GET", f"/Groups/{quote(group_id, safe='')}", expect="group", **kw)

    # -- writes (each guarded by the ledger) ---------------------------------------------

    def create_user(self, body: Mapping[str, Any], **kw: Any) -> ScimResult:
        """``POST /Users``; the user is in the ledger before the request leaves."""
        entry = self._intend("User", str(body.get("userName", "")))
        result = self.send("POST", "/Users", body=body, expect="user", **kw)
        self._settle(entry, result)
        return result

    def create_group(self, display_name: str, **kw: Any) -> ScimResult:
        entry = self._intend("Group", display_name)
        body = create_group_body(display_name, self.version)
        result = self.send("POST", "/Groups", body=body, expect="group", **kw)
        self._settle(entry, result)
        return result

    def replace_user(self, user_id: str, body: Mapping[str, Any], **kw: Any) -> ScimResult:
        """``PUT /Users/{id}`` with the whole object (profile update; 1.1 (de)activation)."""
        self._owned("User", user_id)
        path = f"/Users/{quote(user_id, safe='')}"
        return self.send("PUT", path, body=body, expect="user", **kw)

    def update_profile(
        self, user_id: str, changes: Mapping[str, Any]
    ) -> tuple[ScimResult, ScimResult]:
        """Okta's profile push: ``GET /Users/{id}`` then ``PUT`` of the merged object."""
        self._owned("User", user_id)
        current = self.get_user(user_id, note="Okta reads the user before every PUT")
        if not current.ok or not current.json_object:
            return current, current
        body = profile_update_body(current.json_object, changes, self.version)
        return current, self.replace_user(user_id, body, note="profile update (PUT)")

    def set_active(self, user_id: str, active: bool) -> ScimResult:
        """Deactivate / reactivate: PATCH path-less replace (2.0, OIN), or GET + PUT with
        ``active`` (1.1, as for the private integrations that SCIM 1.1 is limited to)."""
        self._owned("User", user_id)
        path = f"/Users/{quote(user_id, safe='')}"
        verb = "reactivate" if active else "deactivate"
        if self.version == "2.0":
            return self.send(
                "PATCH", path, body=active_patch_body(active), expect="user", note=verb
            )
        current = self.get_user(user_id, note=f"Okta reads the user before the {verb} PUT")
        if not current.ok or not current.json_object:
            return current
        body = profile_update_body(current.json_object, {"active": active}, "1.1")
        return self.replace_user(user_id, body, note=f"{verb} (PUT, SCIM 1.1)")

    def patch_user_active_v1(self, user_id: str, active: bool) -> ScimResult:
        """SCIM 1.1 OIN-template deactivate: PATCH with the partial object."""
        self._owned("User", user_id)
        path = f"/Users/{quote(user_id, safe='')}"
        return self.send(
            "PATCH", path, body=active_patch_body(active, "1.1", user_id), expect="user"
        )

    def add_members(self, group_id: str, members: list[tuple[str, str]]) -> ScimResult:
        self._owned("Group", group_id)
        for mid, _ in members:
            self._owned("User", mid)
        path = f"/Groups/{quote(group_id, safe='')}"
        return self.send(
            "PATCH",
            path,
            body=add_members_body(members, self.version),
            expect="group",
            note="Group Push: add members",
        )

    def remove_members(self, group_id: str, member_ids: list[str]) -> ScimResult:
        self._owned("Group", group_id)
        path = f"/Groups/{quote(group_id, safe='')}"
        return self.send(
            "PATCH",
            path,
            body=remove_members_body(member_ids, self.version),
            expect="group",
            note="Group Push: remove members",
        )

    def rename_group(self, group_id: str, display_name: str) -> ScimResult:
        entry = self._owned("Group", group_id)
        if entry is not None and self.ledger is not None:
            self.ledger.add_name(entry, display_name)
        path = f"/Groups/{quote(group_id, safe='')}"
        return self.send(
            "PATCH",
            path,
            body=rename_group_body(group_id, display_name, self.version),
            expect="group",
            note="Group Push: rename",
        )

    def delete_group(self, group_id: str, **kw: Any) -> ScimResult:
        self._owned("Group", group_id)
        return self.send("DELETE", f"/Groups/{quote(group_id, safe='')}", **kw)

    def delete_user(self, user_id: str, **kw: Any) -> ScimResult:
        """Cleanup only: Okta itself never deletes users."""
        self._owned("User", user_id)
        return self.send("DELETE", f"/Users/{quote(user_id, safe='')}", **kw)

    # -- ledger hooks ---------------------------------------------------------------------

    def _intend(self, kind: Kind, name: str) -> LedgerEntry | None:
        if self.ledger is None:
            raise ScimClientError("creating resources needs a ledger (data safety)")
        if not self.ledger.is_ours(name):
            raise ScimClientError(
                f"refusing to create {kind} {name!r}: it does not carry the run prefix "
                f"{self.ledger.prefix!r}"
            )
        return self.ledger.intend(kind, name, self.check)

    def _settle(self, entry: LedgerEntry | None, result: ScimResult) -> None:
        if entry is not None and self.ledger is not None:
            self.ledger.settle(entry, result.id if result.ok else "", result.status)

    def _owned(self, kind: Kind, rid: str) -> LedgerEntry | None:
        if self.ledger is None:
            raise ScimClientError(f"changing a {kind} needs a ledger (data safety)")
        entry = self.ledger.find(kind, rid)
        if entry is None:
            raise ScimClientError(f"refusing to modify {kind} {rid!r}: this run did not create it")
        return entry


# --- the ledger ------------------------------------------------------------------------------


@dataclass
class LedgerEntry:
    kind: Kind
    name: str
    check: str = ""
    id: str = ""
    #: pending (request sent, no id yet), created, deleted, deactivated, left
    state: str = "pending"
    names: list[str] = field(default_factory=list)
    note: str = ""

    def label(self) -> str:
        return f"{self.kind} {self.name!r}" + (f" (id {self.id})" if self.id else "")


@dataclass
class CleanupReport:
    deleted: list[str] = field(default_factory=list)
    deactivated: list[str] = field(default_factory=list)
    left: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not self.left

    def merge(self, other: CleanupReport) -> None:
        self.deleted += other.deleted
        self.deactivated += other.deactivated
        self.left += other.left

    def text(self) -> str:
        lines = [f"left behind: {x}" for x in self.left]
        lines += [f"only deactivated (the server refused DELETE): {x}" for x in self.deactivated]
        return "\n".join(lines)


JOURNAL_DIR = "scim-ledger"


class Ledger:
    """Every resource the run creates, recorded before it is created.

    ``journal_dir`` (in the state folder) receives one JSON file per process, rewritten on
    every change; a file that outlives its process lists what the next run must clean.
    """

    def __init__(
        self,
        prefix: str,
        *,
        scim_base: str = "",
        journal_dir: Path | None = None,
        run_id: str = "",
        say: Callable[[str], None] | None = None,
    ) -> None:
        self.prefix = prefix
        #: Where notices for the person at the terminal go (the run wiring sets it).
        self.say: Callable[[str], None] = say or (lambda text: None)
        self.scim_base = scim_base
        self.run_id = run_id
        self.entries: list[LedgerEntry] = []
        #: prefixes of earlier runs whose leftovers this ledger adopted
        self.extra_prefixes: set[str] = set()
        #: a second Ctrl-C / SIGTERM stopped a cleanup: this process cleans no more (the
        #: journal lists what is left, for the next run)
        self.stopped = False
        self._lock = threading.RLock()
        self.journal: Path | None = None
        if journal_dir is not None:
            self.journal = (
                journal_dir / f"{run_id or 'run'}-{socket.gethostname()}-{os.getpid()}.json"
            )

    def is_ours(self, name: str) -> bool:
        return name.lower().startswith(self.prefix.lower())

    def new_name(self, rng: Any, what: str = "user") -> str:
        tag = "".join(rng.choice("abcdefghijkmnpqrstuvwxyz23456789") for _ in range(6))
        return f"{self.prefix}-{what}-{tag}"

    def intend(self, kind: Kind, name: str, check: str = "") -> LedgerEntry:
        with self._lock:
            entry = LedgerEntry(kind=kind, name=name, check=check, names=[name])
            self.entries.append(entry)
            self._persist()
            return entry

    def settle(self, entry: LedgerEntry, rid: str, status: int | None) -> None:
        with self._lock:
            if rid:
                entry.id = rid
                entry.state = "created"
            entry.note = f"create answered {status}"
            self._persist()

    def add_name(self, entry: LedgerEntry, name: str) -> None:
        with self._lock:
            if name not in entry.names:
                entry.names.append(name)
            self._persist()

    def find(self, kind: Kind, rid: str) -> LedgerEntry | None:
        with self._lock:
            for entry in self.entries:
                if entry.kind == kind and entry.id and entry.id == rid:
                    return entry
            return None

    def open_entries(self, check: str | None = None) -> list[LedgerEntry]:
        with self._lock:
            return [
                e
                for e in self.entries
                if e.state in ("pending", "created", "left") and (check is None or e.check == check)
            ]

    # -- persistence ----------------------------------------------------------------------

    def _persist(self) -> None:
        if self.journal is None:
            return
        open_ = [asdict(e) for e in self.entries if e.state in ("pending", "created", "left")]
        if not open_:
            with contextlib.suppress(FileNotFoundError):
                self.journal.unlink()
            return
        self.journal.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        data = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "run_id": self.run_id,
            "prefix": self.prefix,
            "scim_base": self.scim_base,
            "written": time.time(),
            "entries": open_,
        }
        tmp = self.journal.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=1))
        os.chmod(tmp, 0o600)
        os.replace(tmp, self.journal)

    @staticmethod
    def stale_journals(journal_dir: Path, scim_base: str, run_id: str) -> list[Path]:
        """Journals of earlier (dead) processes that point at this SCIM server."""
        found: list[Path] = []
        if not journal_dir.is_dir():
            return found
        for path in sorted(journal_dir.glob("*.json")):
            try:
                data = json.loads(path.read_text())
            except (OSError, ValueError):
                continue
            if data.get("run_id") == run_id or data.get("scim_base") != scim_base:
                continue
            if data.get("host") == socket.gethostname() and _alive(int(data.get("pid", 0))):
                continue  # a run in progress right now: not ours to clean
            found.append(path)
        return found

    @classmethod
    def adopt(cls, path: Path, into: Ledger) -> None:
        """Take over an earlier run's leftovers (its prefix stays the proof of ownership)."""
        data = json.loads(path.read_text())
        prefix = str(data.get("prefix", ""))
        with into._lock:
            for raw in data.get("entries", []):
                entry = LedgerEntry(
                    kind=raw["kind"],
                    name=raw["name"],
                    check="earlier run",
                    id=raw.get("id", ""),
                    state="created" if raw.get("id") else "pending",
                    names=list(raw.get("names") or [raw["name"]]),
                    note=f"left over by run {data.get('run_id', '?')} (prefix {prefix})",
                )
                if all(n.lower().startswith(prefix.lower()) for n in entry.names) and prefix:
                    into.entries.append(entry)
                    into.extra_prefixes.add(prefix)
            into._persist()
        path.unlink()

    # -- cleanup --------------------------------------------------------------------------

    def cleanup(
        self, client: ScimClient, check: str | None = None, shield: Shield | None = None
    ) -> CleanupReport:
        """Delete (or deactivate) what the run created: only ids the ledger holds, and only
        after reading the resource back and finding the name the run gave it.

        A Ctrl-C or SIGTERM lets the cleanup finish (and is raised after it); a second one
        stops it at once with a :class:`KeyboardInterrupt` saying where the journal is. The
        journal then lists what is left, and the next run removes it.
        """
        report = CleanupReport()
        if self.stopped:
            report.left.extend(
                f"{e.label()}: not cleaned (the cleanup was stopped)"
                for e in self.open_entries(check)
            )
            return report
        try:
            with shield(self.interrupt_notice) if shield else contextlib.nullcontext():
                for entry in self.open_entries(check):
                    try:
                        self._clean_one(client, entry, report)
                    except Exception as exc:  # noqa: BLE001 - every entry gets its turn
                        entry.state = "left"
                        entry.note = f"cleanup error: {type(exc).__name__}: {exc}"
                        report.left.append(f"{entry.label()}: {entry.note}")
        except CleanupStopped:
            self.stopped = True
            raise KeyboardInterrupt(self.stopped_message()) from None
        finally:
            with self._lock:
                self._persist()
        return report

    def where_left(self) -> str:
        """Where what a stopped or failed cleanup left is written down, and what happens."""
        if self.journal is None:
            return "this run keeps no journal (no state folder): nothing will remove it"
        return (
            f"the journal {self.journal} (in the state folder) lists what is left, and the "
            "next run against this SCIM server removes it"
        )

    def stopped_message(self) -> str:
        left = len(self.open_entries())
        return (
            f"oin-conformance SCIM cleanup stopped by a second interrupt: {left} resource(s) "
            f"this run created may be left on the server; {self.where_left()}"
        )

    def interrupt_notice(self, signum: int) -> None:
        """The first Ctrl-C / SIGTERM during a cleanup: say what happens and how to stop
        (through :attr:`say`, which the run wiring points at the terminal)."""
        self.say(
            f"oin-conformance SCIM: {signal.Signals(signum).name} received while removing what "
            "this run created; finishing that first (interrupt again to stop now: "
            f"{self.where_left()})"
        )

    def _names_match(self, entry: LedgerEntry, data: Mapping[str, Any]) -> bool:
        key = "userName" if entry.kind == "User" else "displayName"
        value = data.get(key)
        return isinstance(value, str) and value.lower() in {n.lower() for n in entry.names}

    def _clean_one(self, client: ScimClient, entry: LedgerEntry, report: CleanupReport) -> None:
        if not entry.id:
            # The create's answer was lost (timeout, error): find it by the name it carries.
            found = self._lookup_ids(client, entry)
            if not found:
                entry.state = "deleted"
                report.deleted.append(f"{entry.label()} (never created)")
                return
            with self._lock:
                entry.id = found[0]
                extra = []
                for rid in found[1:]:  # the same name twice (a server without uniqueness)
                    twin = LedgerEntry(entry.kind, entry.name, entry.check, rid, "created")
                    twin.names = list(entry.names)
                    self.entries.append(twin)
                    extra.append(twin)
                self._persist()
            for twin in extra:
                self._clean_one(client, twin, report)
        ids = [entry.id]
        remaining: list[str] = []
        for rid in ids:
            outcome = self._remove(client, entry, rid)
            if outcome == "deleted":
                report.deleted.append(f"{entry.kind} {entry.name!r} (id {rid})")
            elif outcome == "deactivated":
                report.deactivated.append(f"{entry.kind} {entry.name!r} (id {rid})")
            else:
                remaining.append(f"{entry.kind} {entry.name!r} (id {rid}): {outcome}")
        if remaining:
            entry.state = "left"
            entry.note = "; ".join(remaining)
            report.left.extend(remaining)
        elif any(f"(id {rid})" in x for x in report.deactivated for rid in ids):
            entry.state = "deactivated"
        else:
            entry.state = "deleted"

    def _gone_by_name(self, client: ScimClient, entry: LedgerEntry) -> bool:
        """True only when every lookup by the entry's names answered and found nothing."""
        for name in entry.names:
            res = (
                client.find_user(name, note="cleanup: is it gone?", validate=False)
                if entry.kind == "User"
                else client.find_group(name, note="cleanup: is it gone?", validate=False)
            )
            if not res.ok or any(self._names_match(entry, r) for r in res.resources()):
                return False
        return True

    def _lookup_ids(self, client: ScimClient, entry: LedgerEntry) -> list[str]:
        ids: list[str] = []
        for name in entry.names:
            res = (
                client.find_user(name, note="cleanup: find by name", validate=False)
                if entry.kind == "User"
                else client.find_group(name, note="cleanup: find by name", validate=False)
            )
            for r in res.resources():
                if self._names_match(entry, r) and isinstance(r.get("id"), str):
                    ids.append(r["id"])
        return list(dict.fromkeys(ids))

    def _remove(self, client: ScimClient, entry: LedgerEntry, rid: str) -> str:
        """'deleted', 'deactivated', or why it is still there."""
        get = client.get_user if entry.kind == "User" else client.get_group
        current = get(rid, note="cleanup: is it still ours?", validate=False)
        if current.status == 404:
            return "deleted"
        if not current.ok:
            if self._gone_by_name(client, entry):
                # The server cannot answer for the id (some answer 500 for a deleted one), but
                # no resource carries the run's name any more: it is gone.
                return "deleted"
            return f"could not read it back (HTTP {current.status or current.error})"
        if not self._names_match(entry, current.json_object):
            return "the id now carries another name; not touched (it may not be ours)"
        delete = client.delete_user if entry.kind == "User" else client.delete_group
        gone = delete(rid, note="cleanup: delete what this run created")
        if gone.status in (200, 202, 204, 404):
            after = get(rid, note="cleanup: verify the delete", validate=False)
            if not (after.ok and self._names_match(entry, after.json_object)):
                return "deleted"
            if entry.kind == "Group":
                return f"DELETE answered {gone.status} but the group is still there"
        elif entry.kind == "Group":
            return f"DELETE answered {gone.status or gone.error}"
        # Users: the server cannot delete; deactivate instead (what Okta does).
        res = client.set_active(rid, False)
        back = get(rid, note="cleanup: verify the deactivation", validate=False)
        if res.ok and back.ok and back.json_object.get("active") is False:
            return "deactivated"
        return f"DELETE answered {gone.status or gone.error} and deactivation did not hold"

    def sweep(self, client: ScimClient, pages: int = 10) -> list[str]:
        """Names under this run's prefix that the ledger does not know (should be none)."""
        found: list[str] = []
        prefixes = {self.prefix.lower(), *(p.lower() for p in self.extra_prefixes)}
        kinds: tuple[Kind, Kind] = ("User", "Group")
        for kind in kinds:
            key = "userName" if kind == "User" else "displayName"
            lister = client.list_users if kind == "User" else client.list_groups
            start = 1
            for _ in range(pages):
                res = lister(start, 100, note="cleanup: sweep for this run's names", validate=False)
                batch = res.resources()
                for r in batch:
                    name = r.get(key)
                    if isinstance(name, str) and any(name.lower().startswith(p) for p in prefixes):
                        rid = r.get("id")
                        known = isinstance(rid, str) and self.find(kind, rid) is not None
                        if not known and isinstance(rid, str):
                            entry = self.intend(kind, name, "sweep")
                            self.settle(entry, rid, None)
                            found.append(f"{kind} {name!r} (id {rid})")
                total = res.json_object.get("totalResults")
                if not batch or not isinstance(total, int) or start + len(batch) > total:
                    break
                start += len(batch)
        return found


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class CleanupStopped(KeyboardInterrupt):
    """A second Ctrl-C / SIGTERM stopped a cleanup at once (raised by the caller's shield)."""


#: A shield for a cleanup: ``shield(notice)`` is a context manager that lets the cleanup
#: finish on a first interrupt (``notice(signum)`` tells the person why it goes on) and
#: raises :class:`CleanupStopped` on a second one. The run wiring provides it.
Shield = Callable[[Callable[[int], None]], contextlib.AbstractContextManager[None]]
