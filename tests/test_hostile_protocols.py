"""Hostile protocol messages from the app, end to end through the plugin: each ends as a
clear check failure — the run completes, no traceback reaches the user, nothing hangs."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from tests.conftest import run_plugin, write_target

# A SAML "SP" whose login URL sends the browser to the IdP with a hostile SAMLRequest.
HOSTILE_SP = """
import base64, zlib
from urllib.parse import urlencode

BILLION_LAUGHS = (
    b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    + b"".join(
        b'<!ENTITY lol%d "%s">' % (i, (b"&lol%d;" % (i - 1) if i > 1 else b"&lol;") * 10)
        for i in range(1, 10)
    )
    + b']><samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="a">'
    + b"&lol9;</samlp:AuthnRequest>"
)
XXE = (
    b'<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
    b'<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="a">&x;'
    b"</samlp:AuthnRequest>"
)


def deflate(data):
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    return c.compress(data) + c.flush()


PAYLOADS = {
    "deflate_bomb": lambda: base64.b64encode(deflate(b"<a>" + b" " * (40 * 1024 * 1024))).decode(),
    "billion_laughs": lambda: base64.b64encode(deflate(BILLION_LAUGHS)).decode(),
    "xxe": lambda: base64.b64encode(deflate(XXE)).decode(),
    "not_base64": lambda: "%%%not-base64%%%",
    "not_deflate": lambda: base64.b64encode(b"plain bytes, not deflated").decode(),
    "not_authn_request": lambda: base64.b64encode(deflate(b"<hello/>")).decode(),
}


def create(harness, options):
    sso_url = harness["saml"]["sso_url"]
    payload = PAYLOADS[options["payload"]]()

    def app(environ, start_response):
        if environ["PATH_INFO"] == "/login":
            location = sso_url + "?" + urlencode({"SAMLRequest": payload})
            start_response("302 Found", [("Location", location)])
            return [b""]
        start_response("401 Unauthorized", [("Content-Type", "text/plain")])
        return [b"nobody"]

    return app
"""


def hostile_target(folder: Path, module: str, source: str, option: str, section: str) -> Path:
    """A target serving ``module:create`` (written from ``source``) with one serve option,
    plus the protocol ``section`` under test."""
    (folder / f"{module}.py").write_text(textwrap.dedent(source))
    app = f"""
        [app]
        serve = "{module}:create"
        serve_factory = true
        [app.serve_options]
        {option}
        [app.test_user]
        username = "ada@example.com"
        [app.signed_in]
        url = "/me"
        contains = "{{username}}"
        [harness]
        timeout = 5
        """
    return write_target(folder, textwrap.dedent(app) + textwrap.dedent(section))


PAYLOADS = ["deflate_bomb", "billion_laughs", "xxe", "not_base64", "not_deflate",
            "not_authn_request"]  # fmt: skip
CHECKS = ("saml.authn_request_is_one_okta_accepts", "saml.signs_in_with_sp_initiated_sso")


@pytest.mark.slow
@pytest.mark.parametrize("payload", PAYLOADS)
def test_hostile_authn_request_is_a_clear_failure(tmp_path: Path, payload: str) -> None:
    target = hostile_target(
        tmp_path,
        "hostile_sp",
        HOSTILE_SP,
        f'payload = "{payload}"',
        f"""
        [saml]
        acs_url = "/acs"
        audience = "https://sp.example/{payload}"
        login_url = "/login"
        """,
    )
    run = run_plugin(
        f"--oin-target={target}", *(f"--oin-check={c}" for c in CHECKS), cwd=tmp_path,
        timeout=180,
    )  # fmt: skip
    assert "Traceback" not in run.stdout + run.stderr, run.stdout[-3000:]
    assert run.returncode == 1, run.stdout[-3000:]
    for check_id in CHECKS:
        check = run.check(check_id)
        assert check["outcome"] == "failed", (payload, check_id, check.get("message"))
        assert check["fix"], (payload, check_id)
    assert "root:" not in run.report_dir.joinpath("readiness.json").read_text()


# An OIDC "RP" whose login sends the browser to Okta's authorize endpoint with a broken
# request, and whose token leg (if it ever gets a code) sends garbage.
HOSTILE_RP = """
from urllib.parse import urlencode

QUERIES = {
    "no_client_id": {"response_type": "code", "scope": "openid", "state": "s", "nonce": "n",
                     "redirect_uri": "REDIRECT"},
    "implicit_flow": {"response_type": "token id_token", "client_id": "CLIENT", "scope": "openid",
                      "state": "s", "nonce": "n", "redirect_uri": "REDIRECT"},
    "unregistered_redirect": {"response_type": "code", "client_id": "CLIENT", "scope": "openid",
                              "state": "s", "nonce": "n", "redirect_uri": "https://evil.example/cb"},
    "huge_state": {"response_type": "code", "client_id": "CLIENT", "scope": "openid",
                   "state": "x" * 200000, "nonce": "n", "redirect_uri": "REDIRECT"},
}


def create(harness, options):
    oidc = harness["oidc"]
    redirect = oidc["redirect_uris"][0]
    query = {k: v.replace("CLIENT", oidc["client_id"]) for k, v in QUERIES[options["case"]].items()}

    def app(environ, start_response):
        base = "http://" + environ["HTTP_HOST"]
        if environ["PATH_INFO"] == "/login":
            q = {k: v.replace("REDIRECT", base + redirect) for k, v in query.items()}
            location = oidc["issuer"] + "/oauth2/v1/authorize?" + urlencode(q)
            start_response("302 Found", [("Location", location)])
            return [b""]
        start_response("401 Unauthorized", [("Content-Type", "text/plain")])
        return [b"nobody"]

    return app
"""


@pytest.mark.slow
@pytest.mark.parametrize(
    "case", ["no_client_id", "implicit_flow", "unregistered_redirect", "huge_state"]
)
def test_broken_authorize_request_is_a_clear_failure(tmp_path: Path, case: str) -> None:
    target = hostile_target(
        tmp_path,
        "hostile_rp",
        HOSTILE_RP,
        f'case = "{case}"',
        """
        [oidc]
        login_url = "/login"
        redirect_uris = ["/cb"]
        client_id = "0oa-hostile"
        client_secret = "hostile-client-secret"
        """,
    )
    run = run_plugin(f"--oin-target={target}", "--oin-check=oidc.sp_initiated_sign_in",
                     cwd=tmp_path, timeout=180)  # fmt: skip
    assert "Traceback" not in run.stdout + run.stderr, run.stdout[-3000:]
    assert run.returncode == 1, run.stdout[-3000:]
    check = run.check("oidc.sp_initiated_sign_in")
    assert check["outcome"] == "failed", (case, check.get("message"))
    assert check["fix"]
