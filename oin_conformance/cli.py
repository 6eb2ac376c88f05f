"""``oin-conformance``: helpers around the pytest plugin.

* ``init [PATH]`` writes a commented target template;
* ``idp-metadata --target FILE`` prints the IdP metadata XML to configure the app with;
* ``op-info --target FILE`` prints the OIDC issuer, client and redirect URIs to register;
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
# without a section is reported as "not configured". Secrets may be written as ${ENV_VAR}.
# Paths starting with "/" are relative to [app] base_url.

[app]
name = "My App"
base_url = "https://app.example.com"        # or: serve = "mypackage.wsgi:application"

[app.test_user]                              # the account the harness signs in as
username = "isvtest@example.com"
email = "isvtest@example.com"
first_name = "Isv"
last_name = "Test"

[app.signed_in]                              # how to tell who is signed in
url = "/api/me"
status = 200
contains = "{username}"                      # {username} {email} {first_name} {last_name}

# [harness]
# timeout = 15                               # seconds, every HTTP call
# state_dir = ".oin-state"                   # generated IdP/OP keys (keep it: your app trusts them)

# [saml]
# acs_url = "/saml/acs"
# audience = "https://app.example.com/saml/metadata"
# login_url = "/saml/login"                  # SP-initiated sign-in starts here
# relay_state = "/dashboard"
# nameid_format = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"
# sign = "both"                              # response | assertion | both
# attributes = { firstName = "{first_name}", lastName = "{last_name}", email = "{email}" }

# [oidc]
# login_url = "/oidc/login"
# redirect_uris = ["/oidc/callback"]
# initiate_login_uri = "/oidc/initiate"
# client_id = "0oa-test-client"
# client_secret = "${OIDC_CLIENT_SECRET}"
# [oidc.provider]
# bind = "127.0.0.1"
# port = 8765                                # the app is configured with this issuer once

# [scim]
# base_url = "/scim/v2"
# version = "2.0"
# features = ["create", "update", "deactivate", "reactivate", "import_users", "group_push"]
# [scim.auth]
# mode = "bearer"
# token = "${SCIM_TOKEN}"
"""


def _load(path: str, *, secrets_needed: bool = True):  # type: ignore[no-untyped-def]
    """The target (a Target, imported lazily), or one ``ERROR:`` line naming ``--target``
    and exit status 4. Without ``secrets_needed`` an unset ``${VAR}`` is no error (the
    command never uses or prints a secret)."""
    from oin_conformance.target import TargetError, load

    try:
        return load(path, unset=None if secrets_needed else "(unset)")
    except TargetError as exc:
        print(f"ERROR: --target {exc}", file=sys.stderr)
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
    section = "saml" if args.command == "idp-metadata" else "oidc"
    if getattr(target, section) is None:
        print(
            f"ERROR: --target {target.path} has no [{section}] section; add one to test "
            f"{section.upper()} ({args.command} prints what to configure for it)",
            file=sys.stderr,
        )
        return 4
    from oin_conformance.state import StateError, StateFolder

    try:
        if args.command == "idp-metadata":
            func = _role("oin_conformance.roles.saml", "idp_metadata")
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
        {k: c[k] for k in ("id", "protocol", "severity", "requirement", "title")} for c in found
    ]
    if as_json:
        print(json.dumps(rows, indent=2))
        return 0
    width = max([len(r["id"]) for r in rows] + [8])
    print(f"{'check id':<{width}}  {'severity':<8}  requirement")
    for r in rows:
        print(f"{r['id']:<{width}}  {r['severity']:<8}  {r['requirement']}")
    scope = "that apply to this target" if applies is not None else "shipped"
    print(f"\n{len(rows)} checks {scope}. Run one: pytest --oin-target=FILE --oin-check='ID'")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
