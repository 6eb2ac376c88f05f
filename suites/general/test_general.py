"""General readiness: the app can be reached, its production URLs use HTTPS, and the
target describes at least one integration protocol."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

import pytest

from oin_conformance.failures import fail
from oin_conformance.roles.browser import Browser, BrowserError
from oin_conformance.runtime import RunContext
from oin_conformance.target import Target


def configured_urls(target: Target, ctx: RunContext) -> dict[str, str]:
    """Every URL the target gives, by where it is configured, made absolute.

    Paths of an app served in-process (``[app] serve``) are left out: they name this run's
    loopback server, not an address anybody would submit.
    """
    written: dict[str, str] = {}
    if target.app.base_url:
        written["[app] base_url"] = target.app.base_url
    if target.saml:
        written["[saml] acs_url"] = target.saml.acs_url
        if target.saml.login_url:
            written["[saml] login_url"] = target.saml.login_url
    if target.oidc:
        written["[oidc] login_url"] = target.oidc.login_url
        for i, uri in enumerate(target.oidc.redirect_uris):
            written[f"[oidc] redirect_uris[{i}]"] = uri
        if target.oidc.initiate_login_uri:
            written["[oidc] initiate_login_uri"] = target.oidc.initiate_login_uri
    if target.scim:
        written["[scim] base_url"] = target.scim.base_url
    in_process = target.app.serve is not None
    return {
        where: ctx.url(value)
        for where, value in written.items()
        if not (in_process and value.startswith("/"))
    }


def is_loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@pytest.mark.oin(requirement="GEN-REACHABLE", severity="blocking")
def test_app_is_reachable(oin_run: RunContext, browser: Browser) -> None:
    """The app answers HTTP at its base URL (any status: a 404 still proves it is up)."""
    try:
        page = browser.send("GET", oin_run.app_url + "/")
    except BrowserError as exc:
        raise fail(
            "The app cannot be reached",
            seen=str(exc),
            expected=f"an HTTP response from {oin_run.app_url}/",
            fix="Start the app, or correct [app] base_url in the target file.",
        ) from None
    if page.status >= 500:
        raise fail(
            "The app answers with a server error at its base URL",
            seen=f"HTTP {page.status} from {page.url}\n{page.text[:500]}",
            expected="a status below 500",
            fix="Look at the app's logs for this request; the OIN reviewer will meet it too.",
        )


@pytest.mark.oin(requirement="GEN-HTTPS", severity="blocking")
def test_production_urls_use_https(oin_target: Target, oin_run: RunContext) -> None:
    """Every URL that would go into the OIN submission uses HTTPS (loopback is exempt here)."""
    plain = {
        where: url
        for where, url in configured_urls(oin_target, oin_run).items()
        if url.startswith("http://") and not is_loopback(url)
    }
    if plain:
        raise fail(
            "Production URLs use plain HTTP",
            seen="\n".join(f"{where} = {url}" for where, url in plain.items()),
            expected="https:// URLs for every ACS, redirect URI, sign-in and SCIM URL",
            fix="Serve the app over HTTPS and put the https:// URLs in the target and the "
            "submission; Okta refuses http:// endpoints outside testing.",
        )


@pytest.mark.oin(requirement="GEN-HTTPS", severity="advisory")
def test_loopback_urls_are_for_testing_only(oin_target: Target, oin_run: RunContext) -> None:
    """Plain-HTTP loopback URLs are fine for this run but cannot be submitted."""
    plain = {
        where: url
        for where, url in configured_urls(oin_target, oin_run).items()
        if url.startswith("http://") and is_loopback(url)
    }
    if plain:
        raise fail(
            "Some URLs are plain-HTTP loopback addresses",
            seen="\n".join(f"{where} = {url}" for where, url in plain.items()),
            expected="the HTTPS production URLs you will submit",
            fix="Before submitting, run the suites against a deployment with HTTPS URLs.",
        )


@pytest.mark.oin(requirement="GEN-PROTOCOL", severity="blocking")
def test_target_describes_a_protocol(oin_target: Target) -> None:
    """The target configures at least one of [saml], [oidc] or [scim]."""
    configured = [p for p in ("saml", "oidc", "scim") if oin_target.protocols[p]]
    if not configured:
        raise fail(
            "The target describes no integration protocol",
            seen=f"sections in {oin_target.path.name}: none of [saml], [oidc], [scim]",
            expected="at least one protocol section",
            fix="Add the [saml], [oidc] or [scim] section for what your app supports "
            "(`oin-conformance init` writes a commented template).",
        )
