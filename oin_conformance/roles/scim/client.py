"""Okta's provisioning client: every request as Okta sends it, recorded into a transcript, each
response checked by scim2-client's checking layer against scim2-models (SCIM 1.1 payloads
lifted to their 2.0 form first)."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import quote

import requests
from scim2_client.client import BaseSyncSCIMClient
from scim2_client.errors import SCIMClientException
from scim2_models import (
    Context,
    EnterpriseUser,
    Group,
    ListResponse,
    ResourceType,
    SCIMException,
    ScimPolicy,
    ScimProvider,
    User,
)
from urllib3.util import SKIP_HEADER

from oin_conformance.roles.browser import BrowserError, recorded_exchange, watched_session
from oin_conformance.roles.scim.auth import Auth
from oin_conformance.roles.scim.common import (
    BODY_CONTENT_TYPE,
    CONNECTION_TEST,
    CORE_1,
    ENTERPRISE_1,
    ENTERPRISE_URN,
    ERROR_URN,
    GROUP_URN,
    HEADERS,
    IMPORT_PAGE_SIZE,
    LIST_URN,
    MAX_BODY,
    SPEC_HEADERS,
    USER_URN,
    Expect,
    Kind,
    Profile,
    ScimClientError,
)
from oin_conformance.roles.scim.gate import ChangeGate
from oin_conformance.roles.scim.ledger import Ledger, LedgerEntry
from oin_conformance.roles.scim.okta_requests import (
    active_patch_body,
    add_members_body,
    create_group_body,
    membership_patch_body,
    profile_update_body,
    remove_members_body,
    rename_group_body,
)
from oin_conformance.roles.scim.pacing import (
    Outcome,
    RateLimitEvent,
    RateLimitPolicy,
    Timing,
    Traffic,
)
from oin_conformance.transcript import JsonTooDeep, Transcript, header, load_json

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
    #: The 429 answers on the way to this one (Okta's waits and retries), oldest first.
    rate_limits: list[RateLimitEvent] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    @property
    def stopped_by_rate_limit(self) -> str:
        """Why a 429 is the final answer ("okta_gave_up", "deadline"), or ""."""
        if self.status == 429 and self.rate_limits:
            return self.rate_limits[-1].outcome
        return ""

    def total(self) -> Any:
        """``totalResults`` of a list response (Okta also reads ``totalresults``)."""
        obj = self.json_object
        return obj.get("totalResults", obj.get("totalresults"))

    def header(self, name: str) -> str:
        return header(self.headers, name) or ""

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
        pacing: RateLimitPolicy | None = None,
        traffic: Traffic | None = None,
        gate: ChangeGate | None = None,
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
        #: Okta's 429 handling (the harness's deadline included); waits are injectable.
        self.pacing = pacing or RateLimitPolicy()
        #: Where each exchange's time and each 429 is counted (shared by a run's clients).
        self.traffic = traffic if traffic is not None else Traffic()
        #: Holds this client's changes back while another process of the run pages the
        #: same server (:mod:`.gate`); None when no other process sends to it.
        self.gate = gate

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
        profile: Profile = "engine",
    ) -> ScimResult:
        """One request exactly as Okta builds it; ``authorization`` overrides the credentials
        ("" sends none). ``raw_body`` sends a body that is not JSON (Okta's SPEC test POSTs
        ``test`` to the discovery endpoints). ``validate=False`` skips scim2-client's response
        checks (the harness's own cleanup reads, which only need the status and the JSON).
        ``profile="spec"`` sends the headers of Okta's SPEC test instead of the provisioning
        engine's. A 429 is waited out and retried as Okta does (:mod:`.pacing`)."""
        url = self.base_url + path
        if query:
            url += "?" + "&".join(f"{k}={quote(v, safe='')}" for k, v in query)
        data: bytes | None = None
        if body is not None or raw_body is not None:
            data = json.dumps(body).encode() if body is not None else str(raw_body).encode()
        events: list[RateLimitEvent] = []
        started = self.pacing.clock()
        attempt = 1
        while True:
            headers = self._headers(method, profile, data is not None)
            first = len(self.transcript.exchanges)
            if authorization is None:
                try:
                    headers["Authorization"] = self.auth.header(
                        self.session, self.transcript, self.timeout
                    )
                    self._hide(self.auth.secrets())
                except ScimClientError as exc:
                    self._observe(first)
                    return ScimResult(method, url, None, {}, "", error=str(exc), rate_limits=events)
            elif authorization:
                headers["Authorization"] = authorization
            prepared = self.session.prepare_request(
                requests.Request(method, url, data=data, headers=headers)
            )
            gate = self.gate.changing(method) if self.gate else contextlib.nullcontext()
            try:
                # recorded as it went on the wire (requests adds Host, Content-Length, Connection)
                with gate:
                    resp, text = recorded_exchange(
                        self.session,
                        prepared,
                        self.transcript,
                        url=url,
                        timeout=self.timeout,
                        max_body=MAX_BODY,
                        note=note if attempt == 1 else f"{note} (attempt {attempt})".strip(),
                    )
            except BrowserError as exc:
                return ScimResult(method, url, None, {}, "", error=exc.reason, rate_limits=events)
            finally:
                self._observe(first)
            if resp.status_code != 429:
                break
            event = self._rate_limited(method, resp, attempt, started)
            events.append(event)
            if event.outcome != "retried":
                break
            attempt += 1
        resp_headers = dict(resp.headers)
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
        return ScimResult(
            method, url, resp.status_code, resp_headers, text, parsed, model, problem,
            rate_limits=events,
        )  # fmt: skip

    def _headers(self, method: str, profile: Profile, has_body: bool) -> dict[str, str]:
        """The headers Okta's engine (or its SPEC test) puts on this request."""
        if profile == "spec":
            spec = SPEC_HEADERS[(self.version, "GET" if method == "GET" else "POST")]
            # None: the header is not sent at all (urllib3 would add its own User-Agent)
            return {k: v if v is not None else SKIP_HEADER for k, v in spec.items()}
        headers = dict(HEADERS[self.version])
        if has_body:
            headers["Content-Type"] = BODY_CONTENT_TYPE[self.version]
        return headers

    def _observe(self, first: int) -> None:
        """Count the exchanges recorded since index ``first`` (a header that was not sent
        leaves the transcript too)."""
        for i in range(first, len(self.transcript.exchanges)):
            ex = self.transcript.exchanges[i]
            if SKIP_HEADER in ex.request_headers.values():
                kept = {k: v for k, v in ex.request_headers.items() if v != SKIP_HEADER}
                ex = self.transcript.exchanges[i] = replace(ex, request_headers=kept)
            self.traffic.add_timing(
                Timing(self.check, ex.method, ex.url, ex.status, ex.elapsed_ms, ex.error)
            )

    def _rate_limited(
        self, method: str, resp: requests.Response, attempt: int, started: float
    ) -> RateLimitEvent:
        """A 429: wait as Okta does and say so, or say why not (Okta's last attempt, or a
        wait beyond the harness's deadline for one request)."""
        policy = self.pacing
        retry_after = header(dict(resp.headers), "Retry-After") or ""
        wait = policy.okta_wait(retry_after, attempt - 1)
        shown = self.transcript.exchanges[-1].url if self.transcript.exchanges else ""
        outcome: Outcome = "retried"
        if attempt >= policy.max_attempts:
            outcome = "okta_gave_up"
        elif policy.clock() + wait > started + policy.budget:
            outcome = "deadline"
        waited = wait if outcome == "retried" else 0.0
        event = RateLimitEvent(
            self.check, method, shown, attempt, retry_after[:100], wait, waited, outcome
        )
        self.traffic.add_rate_limit(event)
        text = event.describe()
        if outcome == "deadline":
            text += f" (the harness spends at most {policy.budget:g} s on one request)"
        self.transcript.note(text)
        if outcome == "retried":
            policy.sleep(wait)
        return event

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

    def connection_test(self) -> tuple[ScimResult, ScimResult]:
        """Okta's "Test API Credentials": ``GET /Users?startIndex=1&count=2``, then
        ``GET /Groups?startIndex=1&count=100`` (reference §1.3 step 1; the parameters never
        change)."""
        (_, u_start, u_count), (_, g_start, g_count) = CONNECTION_TEST
        users = self.list_users(u_start, u_count, note="Okta's connection test: users")
        groups = self.list_groups(g_start, g_count, note="Okta's connection test: groups")
        return users, groups

    def import_pages(self, kind: Kind = "User", max_pages: int = 200) -> Iterator[ScimResult]:
        """Okta's import, one page at a time: ``startIndex=1&count=100``, then
        ``startIndex=101``, ``201``, … — startIndex grows by 100 whatever the page held —
        while ``totalResults`` says more remain (reference §1.3 step 2). Stops after a page
        that is not a 200 with an integer ``totalResults``, or after ``max_pages``; the
        caller may stop earlier (a generator)."""
        lister = self.list_users if kind == "User" else self.list_groups
        start = 1
        for _ in range(max_pages):
            page = lister(start, IMPORT_PAGE_SIZE, note=f"Okta's import: {kind}s from {start}")
            yield page
            total = page.total()
            if not page.ok or not isinstance(total, int) or isinstance(total, bool):
                return
            if start + IMPORT_PAGE_SIZE > total:
                return
            start += IMPORT_PAGE_SIZE

    def entitlements_page(self, endpoint: str, **kw: Any) -> ScimResult:
        """Okta's Entitlements test: ``GET {endpoint}?count=1&startIndex=1`` (``count``
        first, as Okta's test sends it; reference §2.4). Entitlement resources have the
        app's own schema, so the response is graded as JSON, not against scim2-models."""
        query = [("count", "1"), ("startIndex", "1")]
        note = kw.pop("note", f"Okta's Entitlements test: {endpoint}")
        return self.send("GET", endpoint, query=query, note=note, validate=False, **kw)

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

    def rename_group(
        self, group_id: str, display_name: str, note: str = "Group Push: rename"
    ) -> ScimResult:
        entry = self._owned("Group", group_id)
        if entry is not None and self.ledger is not None:
            self.ledger.add_name(entry, display_name)
        path = f"/Groups/{quote(group_id, safe='')}"
        return self.send(
            "PATCH",
            path,
            body=rename_group_body(group_id, display_name, self.version),
            expect="group",
            note=note,
        )

    def update_membership(
        self,
        group_id: str,
        display_name: str,
        add: list[tuple[str, str]],
        remove: list[str],
    ) -> tuple[ScimResult, ScimResult]:
        """Okta's Group Push of a membership change: the rename PATCH Okta sends with every
        membership update (the group's current name, with its id), then one PATCH carrying
        every change — removals first, then the additions (reference §1.3 step 10; the order
        of the two PATCHes is our reading, Okta's pages do not give it)."""
        self._owned("Group", group_id)
        for mid in [m for m, _ in add] + remove:
            self._owned("User", mid)
        rename = self.rename_group(
            group_id, display_name, note="Group Push: the rename PATCH of a membership update"
        )
        path = f"/Groups/{quote(group_id, safe='')}"
        members = self.send(
            "PATCH",
            path,
            body=membership_patch_body(add, remove, self.version),
            expect="group",
            note="Group Push: every membership change in one PATCH",
        )
        return rename, members

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
