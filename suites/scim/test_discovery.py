"""Okta's SCIM 1.1 SPEC test steps 1-6 (all marked Optional by Okta): the discovery endpoints
/ServiceProviderConfigs, /ResourceTypes and /Schemas answer what Okta's script reads, and each
refuses a POST with 405. Okta's SCIM 2.0 SPEC test has no such steps."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from oin_conformance.failures import excerpt, fail
from oin_conformance.roles.scim import CORE_1

from .okta import ScimCheck, expect_status, field, is_int


@dataclass(frozen=True)
class Endpoint:
    """One discovery endpoint and what Okta's SCIM 1.1 SPEC test asserts on its GET."""

    path: str
    get_step: int
    post_step: int
    #: An entry of ``schemas`` must contain this text (Runscope's "contains").
    schema: str
    #: (attribute path, kind): kind is bool, int, text (non-empty string) or list (non-empty).
    fields: tuple[tuple[str, str], ...]


ENDPOINTS = {
    "ServiceProviderConfigs": Endpoint(
        "/ServiceProviderConfigs",
        1,
        2,
        CORE_1,
        (
            ("patch.supported", "bool"),
            ("bulk.supported", "bool"),
            ("bulk.maxOperations", "int"),
            ("bulk.maxPayloadSize", "int"),
            ("filter.supported", "bool"),
            ("filter.maxResults", "int"),
            ("changePassword.supported", "bool"),
            ("sort.supported", "bool"),
            ("etag.supported", "bool"),
            ("authenticationSchemes[0].type", "text"),
            ("authenticationSchemes[0].description", "text"),
        ),
    ),
    "ResourceTypes": Endpoint(
        "/ResourceTypes",
        3,
        4,
        CORE_1,
        (
            ("Resources[0].name", "text"),
            ("Resources[0].endpoint", "text"),
            ("Resources[0].schema", "text"),
        ),
    ),
    "Schemas": Endpoint(
        "/Schemas",
        5,
        6,
        f"{CORE_1}:ListResponse",
        (("Resources[0].id", "text"), ("Resources[0].attributes", "list")),
    ),
}

KIND_WORDS = {
    "bool": "a JSON boolean",
    "int": "a JSON integer",
    "text": "a non-empty string",
    "list": "a non-empty array",
}


def _fits(value: Any, kind: str) -> bool:
    if kind == "bool":
        return isinstance(value, bool)
    if kind == "int":
        return is_int(value)
    if kind == "text":
        return isinstance(value, str) and bool(value.strip())
    return isinstance(value, list) and bool(value)


def _only_scim_1_1(scim: ScimCheck) -> None:
    if scim.version != "1.1":
        pytest.skip(
            "the discovery steps are in Okta's SCIM 1.1 SPEC test only (Okta's SCIM 2.0 "
            "SPEC test and provisioning engine never read them)"
        )


PARAMS = [pytest.param(e, id=name) for name, e in ENDPOINTS.items()]


@pytest.mark.oin(requirement="SCIM-DISCOVERY", severity="advisory")
@pytest.mark.parametrize("endpoint", PARAMS)
def test_serves_discovery_endpoint(scim: ScimCheck, endpoint: Endpoint) -> None:
    """SCIM 1.1 SPEC steps 1, 3, 5 (optional): GET on a discovery endpoint answers 200 with
    the core 1.0 schema URN and the attributes Okta's script reads."""
    _only_scim_1_1(scim)
    result = scim.client.send(
        "GET", endpoint.path, note=f"SPEC 1.1 step {endpoint.get_step}", validate=False
    )
    expect_status(
        result,
        200,
        f"GET {endpoint.path} does not answer 200",
        f"Serve GET {endpoint.path} (SCIM 1.1 §8: the service provider's description of "
        "itself), with the configured credentials.",
    )
    data = result.json_object
    schemas = data.get("schemas")
    problems = []
    if not (isinstance(schemas, list) and any(endpoint.schema in str(urn) for urn in schemas)):
        problems.append(f"schemas {excerpt(repr(schemas), 200)} lacks {endpoint.schema}")
    for path, kind in endpoint.fields:
        value = field(data, path)
        if not _fits(value, kind):
            shown = "missing" if value is None else excerpt(repr(value), 80)
            problems.append(f"{path}: {shown} (wanted {KIND_WORDS[kind]})")
    if problems:
        raise fail(
            f"GET {endpoint.path} lacks what Okta's SCIM 1.1 SPEC test reads",
            seen="\n".join(problems) + "\n\n" + result.seen(),
            expected=f'"schemas" containing "{endpoint.schema}", and '
            + ", ".join(f"{p} as {KIND_WORDS[k]}" for p, k in endpoint.fields),
            fix=f"Describe the server in {endpoint.path} with the SCIM 1.1 attributes above "
            "(for /ServiceProviderConfigs: the authentication scheme Okta is configured with).",
        )


@pytest.mark.oin(requirement="SCIM-DISCOVERY", severity="advisory")
@pytest.mark.parametrize("endpoint", PARAMS)
def test_discovery_endpoint_is_read_only(scim: ScimCheck, endpoint: Endpoint) -> None:
    """SCIM 1.1 SPEC steps 2, 4, 6 (optional): a POST to a discovery endpoint answers 405
    Method Not Allowed."""
    _only_scim_1_1(scim)
    result = scim.client.send(
        "POST",
        endpoint.path,
        raw_body="test",
        note=f"SPEC 1.1 step {endpoint.post_step}: Okta's script POSTs the text 'test'",
        validate=False,
    )
    expect_status(
        result,
        405,
        f"POST {endpoint.path} is not refused with 405",
        f"{endpoint.path} is read-only: answer every method but GET with 405 Method Not "
        "Allowed (and never change the configuration it describes).",
    )
