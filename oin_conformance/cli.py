"""``oin-conformance``: helpers around the pytest plugin.

* ``init [PATH]`` writes a commented target template;
* ``idp-metadata --target FILE`` prints the IdP metadata XML to configure the app with;
* ``op-info --target FILE`` prints the OIDC issuer, client and redirect URIs to register;
* ``ul-info --target FILE`` prints what Okta's Universal Logout requests carry (issuer,
  app id, keys, audience) for the app's endpoint to accept;
* ``checks [--target FILE] [--json]`` lists every check id with its severity and
  requirement (with a target: the checks that apply to it), for ``--oin-check``.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from pathlib import Path
from typing import Any

TEMPLATE = """\
# oin-conformance target description. Every section but [app] is optional; a protocol
# without a section is reported as "not configured". Secrets may be written as ${ENV_VAR}
# (redacted from every report). Paths starting with "/" are relative to the app's base URL.
# A line "# key = ..." is an optional key: uncomment it to use it. A line "## key = ..." is
# an alternative to a key set above it: uncomment it instead of that key, not beside it.

[app]
name = "My App"                              # the app's name in the report
base_url = "https://app.example.com"         # where the app runs (give base_url OR serve)
## serve = "mypackage.wsgi:application"      # instead of base_url: a WSGI app, run in-process
## serve_factory = true                      # serve names a factory(settings, serve_options)
# pythonpath = ["src"]                       # folders to import serve from (beside this file)

# [app.serve_options]                        # passed to the serve factory as a dict
# debug = false

# The user the harness signs in as ([saml] and [oidc] need it; must exist unless jit = true).
[app.test_user]
username = "isvtest@example.com"             # the login name (required)
email = "isvtest@example.com"                # defaults to username
first_name = "Isv"                           # defaults to "Test"
last_name = "Test"                           # defaults to "User"

# How the harness tells WHO is signed in (each protocol may override it with signed_in).
[app.signed_in]
url = "/api/me"                              # a page that shows the signed-in user
status = 200                                 # its status when signed in
contains = "{username}"                      # {username} {email} {first_name} {last_name}
# pattern = "Signed in as <b>([^<]+)</b>"    # a regex whose group captures the identity
## json_pointer = "/user/email"              # instead of pattern: the identity in JSON

# [harness]
# timeout = 15                               # seconds, every HTTP call
# state_dir = ".oin-state"                   # generated IdP/OP keys (keep it: your app trusts them)

# [saml]
# acs_url = "/saml/acs"                      # your Assertion Consumer Service URL
# audience = "https://app.example.com/saml/metadata"   # your SP entity ID
# login_url = "/saml/login"                  # SP-initiated sign-in starts here
# relay_state = "/dashboard"                 # RelayState sent with IdP-initiated responses
# nameid_format = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"
# nameid = "{email}"                         # the NameID value, templated like contains
# sign = "both"                              # what Okta signs: response | assertion | both
# attributes = { firstName = "{first_name}", lastName = "{last_name}", email = "{email}" }
# optional_attributes = ["lastName"]         # attributes your app works without
# sp_metadata_url = "/saml/metadata"         # your SP metadata (checked against the above)
# sp_metadata_file = "sp-metadata.xml"       # or that metadata as a file (beside this file)
# jit = false                                # your app creates unknown users at sign-in
# idp_entity_id = "http://www.okta.com/exk1example"   # pin the IdP entity ID you configured
# signed_in = { url = "/saml/me", contains = "{email}" }   # overrides [app.signed_in]

# [oidc]
# login_url = "/oidc/login"                  # SP-initiated sign-in starts here
# redirect_uris = ["/oidc/callback"]         # your registered redirect URIs
# initiate_login_uri = "/oidc/initiate"      # Okta-initiated (third-party) login URI
# post_logout_redirect_uri = "/signed-out"   # where RP-initiated logout returns
# issuer = ""                                # pin the issuer (default: the harness's OP URL)
# client_id = "0oa-test-client"              # the client ID your app is configured with
# client_secret = "${OIDC_CLIENT_SECRET}"    # its secret (use an environment variable)
# jit = false                                # your app creates unknown users at sign-in
# signed_in = { url = "/oidc/me", contains = "{email}" }   # overrides [app.signed_in]
# [oidc.provider]                            # the harness's Okta org authorization server
# bind = "127.0.0.1"                         # address it listens on
# port = 8765                                # fixed port: configure your app with it once
# public_url = "http://127.0.0.1:8765"       # the issuer URL, if the app reaches it elsewhere

# [scim]
# base_url = "/scim/v2"                      # your SCIM base URL
# version = "2.0"                            # 2.0 | 1.1
# features = ["create", "update", "deactivate", "reactivate", "import_users", "group_push"]
# unique_attribute = "userName"              # the attribute users are matched on
# prefix = "oin-test-"                       # names of everything the harness creates
# entitlements = ["/Roles"]                  # SCIM 2.0 with entitlements: endpoints to test
# latency_limit = 60                         # seconds a request may take (Okta's limit: 60)
# [scim.auth]                                # how Okta authenticates to your SCIM API
# mode = "bearer"                            # header | bearer | basic | oauth2
# token = "${SCIM_TOKEN}"                    # header and bearer
## username = "okta"                         # basic: instead of token
## password = "${SCIM_PASSWORD}"             # basic
## token_url = "https://app.example.com/oauth/token"   # oauth2: instead of token
## client_id = "okta-scim"                   # oauth2
## client_secret = "${SCIM_CLIENT_SECRET}"   # oauth2

# [universal_logout]                         # Okta's Universal Logout (Global Token Revocation)
# endpoint = "/oauth/global-token-revocation"   # your GTR endpoint (at most 1024 characters)
# subject_formats = ["email"]                # email | iss_sub: how Okta names the user
# partial_support = false                    # true: you revoke only refresh tokens
# user_id = "{username}"                     # iss_sub: the test user's id in your app
# [universal_logout.refresh_token]           # how the harness sees a refresh token revoked
# issue_url = "/api/refresh-token"           # gives the signed-in user a refresh token (JSON)
# json_pointer = "/refresh_token"            # where it is in that JSON
# token_url = "/oauth/token"                 # redeems it: grant_type=refresh_token
# client_id = "my-client"                    # sent with the refresh request
# client_secret = "${REFRESH_CLIENT_SECRET}" # if given: HTTP Basic with client_id

# [submission]                               # the OIN submission material (Okta's API names)
# name = "My App"                            # the app's name in the OIN catalog
# description = "What My App does for Okta customers."
# use_cases = ["Automation"]                 # OIN use case categories
# logo = "logo.png"                          # a file, beside this file
# submitter_email = "oin@example.com"        # who Okta contacts about the submission
# sign_on_modes = ["SAML_2_0", "OIDC", "SCIM"]   # SAML_2_0 | OIDC | SWA | SCIM
# [[submission.contacts]]                    # one table per contact
# contact_type = "CUSTOMER_SUPPORT"          # CUSTOMER_SUPPORT | ESCALATION_SUPPORT
# value_type = "EMAIL"                       # URL | EMAIL | PHONE
# value = "support@example.com"
# [submission.test_account]                  # what the OIN analyst signs in with
# url = "https://app.example.com/login"
# username = "okta-review@example.com"
# password = "${OIN_TEST_ACCOUNT_PASSWORD}"
# instructions = "Sign in, then open Settings > SSO."
# [submission.guides]                        # customer configuration guide URLs
# sso = "https://docs.example.com/okta-sso"
# scim = "https://docs.example.com/okta-scim"
# [[submission.variables]]                   # one table per tenant setting
# name = "subdomain"                         # the variable's name in Okta
# label = "Your My App subdomain"            # what the admin sees
"""


def _load(path: str, *, secrets_needed: bool = True):  # type: ignore[no-untyped-def]
    """The target (a Target, imported lazily), or one ``ERROR:`` line naming ``--target``
    and exit status 4. Without ``secrets_needed`` an unset ``${VAR}`` is no error (the
    command never uses or prints a secret)."""
    from oin_conformance.target import TargetError, load

    try:
        return load(path, unset=None if secrets_needed else "(unset)")
    except TargetError as exc:
        for problem in exc.problems:
            print(f"ERROR: --target {problem}", file=sys.stderr)
        raise SystemExit(4) from None


def _role(module: str, func: str) -> object:
    try:
        return getattr(importlib.import_module(module), func)
    except (ModuleNotFoundError, AttributeError):
        print(f"ERROR: this version of oin-conformance has no {module}.{func}", file=sys.stderr)
        raise SystemExit(2) from None


def main(argv: list[str] | None = None) -> int:
    from oin_conformance import __version__

    parser = argparse.ArgumentParser(
        prog="oin-conformance",
        description=__doc__.replace("``", "'"),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"oin-conformance {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    init = sub.add_parser("init", help="write a commented target template")
    init.add_argument("path", nargs="?", default="oin-target.toml")
    init.add_argument("--force", action="store_true", help="overwrite an existing file")
    for name, text in (
        ("idp-metadata", "print the IdP metadata XML your app must trust"),
        ("op-info", "print the OIDC issuer and client settings your app must use"),
        ("ul-info", "print what Okta's Universal Logout requests carry (issuer, app id, keys)"),
    ):
        cmd = sub.add_parser(name, help=text)
        cmd.add_argument("--target", required=True, help="the target TOML file")
    checks = sub.add_parser(
        "checks", help="list every check id with its severity and requirement (for --oin-check)"
    )
    checks.add_argument(
        "--target", help="list only the checks that apply to this target (its protocols)"
    )
    checks.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args(argv)

    if args.command == "checks":
        return list_checks(args.target, as_json=args.json)
    if args.command == "init":
        path = Path(args.path)
        if path.exists() and not args.force:
            print(f"ERROR: {path} exists; use --force to overwrite it", file=sys.stderr)
            return 1
        try:
            path.write_text(TEMPLATE)
        except OSError as exc:
            print(f"ERROR: cannot write {path}: {exc.strerror or exc}", file=sys.stderr)
            return 1
        print(f"wrote {path}; edit it, then run: pytest --oin-target={path}")
        return 0
    target = _load(args.target, secrets_needed=False)
    section = {"idp-metadata": "saml", "op-info": "oidc", "ul-info": "universal_logout"}[
        args.command
    ]
    if getattr(target, section) is None:
        print(
            f"ERROR: --target {target.path} has no [{section}] section; add one to test "
            f"{section.upper().replace('_', ' ')} ({args.command} prints what to configure "
            "for it)",
            file=sys.stderr,
        )
        return 4
    from oin_conformance.state import StateError, StateFolder

    try:
        if args.command == "idp-metadata":
            func = _role("oin_conformance.roles.saml", "idp_metadata")
            print(func(target, StateFolder(target.state_dir())))  # type: ignore[operator]
        elif args.command == "ul-info":
            func = _role("oin_conformance.wiring.universal_logout", "ul_info")
            print(func(target, StateFolder(target.state_dir())))  # type: ignore[operator]
        else:
            func = _role("oin_conformance.wiring.oidc", "op_info")
            print(func(target))  # type: ignore[operator]
    except (StateError, OSError) as exc:
        print(f"ERROR: --target {target.path}: {exc}", file=sys.stderr)
        return 4
    return 0


def list_checks(target_path: str | None, *, as_json: bool = False) -> int:
    """Print every check (of the target's protocols, with a target): id, severity,
    requirement; the ids are what ``--oin-check`` takes."""
    from oin_conformance.catalogue import CatalogueError, all_checks

    applies: set[str] | None = None
    if target_path is not None:
        target = _load(target_path)
        applies = {p for p, on in target.protocols.items() if on} | {"general"}
    try:
        found = [c for c in all_checks() if applies is None or c["protocol"] in applies]
    except CatalogueError as exc:
        print(f"ERROR: {exc}", file=sys.stderr)
        return 3
    from oin_conformance.names import PROTOCOLS

    found.sort(key=lambda c: PROTOCOLS.index(c["protocol"]) if c["protocol"] in PROTOCOLS else 99)
    rows: list[dict[str, Any]] = [
        {
            **{k: c[k] for k in ("id", "protocol", "severity", "requirement", "title")},
            "advisories": [r["id"] for r in c.get("references", [])],
        }
        for c in found
    ]
    if as_json:
        print(json.dumps(rows, indent=2))
        return 0
    width = max([len(r["id"]) for r in rows] + [8])
    print(f"{'check id':<{width}}  {'severity':<8}  requirement")
    for r in rows:
        line = f"{r['id']:<{width}}  {r['severity']:<8}  {r['requirement']}"
        if r["advisories"]:
            line += f"  ({', '.join(r['advisories'])})"
        print(line)
    scope = "that apply to this target" if applies is not None else "shipped"
    print(f"\n{len(rows)} checks {scope}. Run one: pytest --oin-target=FILE --oin-check='ID'")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
