"""Okta's provisioning engine as a SCIM client (SCIM 2.0 and 1.1), with a data-safety ledger.

Plain Python (nothing of a run: the session, signals and notices are
:mod:`oin_conformance.wiring.scim`), one job per module: ``common`` (names, limits),
``okta_requests`` (Okta's request bodies), ``auth`` (the four auth modes), ``client`` (the
client and its checked results), ``pacing`` (Okta's 429 handling, request timings),
``ledger`` (what the run created, journaled, and its cleanup).

:class:`ScimClient` sends exactly what Okta sends (``shared/reference/scim.md`` §1): the
``Okta SCIM Client 1.0.0`` User-Agent, Accept/Content-Type per SCIM version, ``filter`` first
then ``startIndex``/``count`` in query strings, Okta's request bodies, and the four auth modes;
its connection test, its import paging (``count=100``, ``startIndex`` + 100), its Group Push
membership updates, its Entitlements test, and the headers and bodies of Okta's SPEC test
(``profile="spec"``). A 429 is waited out as Okta waits, within the run's deadline.
:class:`Ledger` makes the run safe for the ISV's data: nothing the run did not create is
touched, and what it created is removed.
"""

# First: the SCIM libraries, imported from a short call stack (see _preload).
from oin_conformance.roles.scim import _preload  # noqa: F401
from oin_conformance.roles.scim.auth import (
    Auth,
)
from oin_conformance.roles.scim.client import (
    ScimClient,
    ScimResult,
    check_payload,
    lift_v1,
)
from oin_conformance.roles.scim.common import (
    CONNECTION_TEST,
    CORE_1,
    ENTERPRISE_1,
    ENTERPRISE_URN,
    ERROR_URN,
    GROUP_URN,
    HEADERS,
    IMPORT_PAGE_SIZE,
    LIST_URN,
    OKTA_SOCKET_TIMEOUT,
    OKTA_USER_AGENT,
    PATCH_URN,
    SPEC_HEADERS,
    SPEC_USER_AGENT,
    USER_URN,
    Expect,
    Kind,
    Profile,
    ScimClientError,
)
from oin_conformance.roles.scim.ledger import (
    JOURNAL_DIR,
    CleanupReport,
    CleanupStopped,
    Ledger,
    LedgerEntry,
    Shield,
)
from oin_conformance.roles.scim.okta_requests import (
    Person,
    active_patch_body,
    add_members_body,
    create_group_body,
    create_user_body,
    membership_patch_body,
    profile_update_body,
    remove_members_body,
    rename_group_body,
    spec_create_user_body,
    typed_patch,
)
from oin_conformance.roles.scim.pacing import (
    OKTA_DEFAULT_WAIT,
    OKTA_MAX_ATTEMPTS,
    RateLimitEvent,
    RateLimitPolicy,
    Timing,
    Traffic,
    retry_after_seconds,
)

__all__ = [
    "Auth",
    "CONNECTION_TEST",
    "CORE_1",
    "CleanupReport",
    "CleanupStopped",
    "ENTERPRISE_1",
    "ENTERPRISE_URN",
    "ERROR_URN",
    "Expect",
    "GROUP_URN",
    "HEADERS",
    "IMPORT_PAGE_SIZE",
    "JOURNAL_DIR",
    "Kind",
    "LIST_URN",
    "Ledger",
    "LedgerEntry",
    "OKTA_DEFAULT_WAIT",
    "OKTA_MAX_ATTEMPTS",
    "OKTA_SOCKET_TIMEOUT",
    "OKTA_USER_AGENT",
    "PATCH_URN",
    "Person",
    "Profile",
    "RateLimitEvent",
    "RateLimitPolicy",
    "SPEC_HEADERS",
    "SPEC_USER_AGENT",
    "ScimClient",
    "ScimClientError",
    "ScimResult",
    "Shield",
    "Timing",
    "Traffic",
    "USER_URN",
    "active_patch_body",
    "add_members_body",
    "check_payload",
    "create_group_body",
    "create_user_body",
    "lift_v1",
    "membership_patch_body",
    "profile_update_body",
    "remove_members_body",
    "rename_group_body",
    "retry_after_seconds",
    "spec_create_user_body",
    "typed_patch",
]
