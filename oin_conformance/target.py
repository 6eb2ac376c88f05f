"""The target description: one TOML file that says what app to test and how (SPEC §3).

The file is parsed, ``${ENV_VAR}`` references are resolved, and the result is validated into
a frozen, typed :class:`Target`. Every mistake becomes one :class:`TargetError` whose message
names the file, the section and key, what was found, what is allowed, a "did you mean" for a
misspelt key, and the fix. Values that came from the environment and secret fields are never
repeated in a message.
"""

from __future__ import annotations

import difflib
import hashlib
import os
import re
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    model_validator,
)

_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


class TargetError(Exception):
    """The target file cannot be used: one line per mistake in :attr:`problems`.

    ``str()`` is those lines joined by newlines; each names the file, the section and key,
    what was found, what is allowed and the fix.
    """

    def __init__(self, *problems: str) -> None:
        super().__init__(*problems)
        self.problems: list[str] = list(problems)

    def __str__(self) -> str:
        return "\n".join(self.problems)


#: A form of ``[app.test_user]`` that works, for messages (one line: an inline table).
TEST_USER_EXAMPLE = (
    'test_user = { username = "isvtest@example.com", email = "isvtest@example.com", '
    'first_name = "Isv", last_name = "Test" }'
)


def _http_url(value: str) -> str:
    if value.startswith("/"):
        return value
    if not re.match(r"^https?://[^/\s]+", value):
        raise ValueError("must be an absolute http(s) URL, or a path starting with '/'")
    return value


def _abs_http_url(value: str) -> str:
    if not re.match(r"^https?://[^/\s]+", value):
        raise ValueError("must be an absolute http(s) URL")
    return value


Url = Annotated[str, AfterValidator(_http_url)]
AbsUrl = Annotated[str, AfterValidator(_abs_http_url)]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class TestUser(_Section):
    """The account the harness signs in as (must exist in the app unless JIT is on)."""

    __test__ = False

    username: str = Field(min_length=1)
    email: str = ""
    first_name: str = "Test"
    last_name: str = "User"

    def fields(self) -> dict[str, str]:
        return {
            "username": self.username,
            "email": self.email or self.username,
            "first_name": self.first_name,
            "last_name": self.last_name,
        }


class SignedInProbe(_Section):
    """How to tell who is signed in: fetch ``url`` with the session's cookies.

    ``contains`` is templated with the user's fields (``{username}``, ``{email}``,
    ``{first_name}``, ``{last_name}``) so the probe identifies *which* user is signed in.
    """

    url: Url
    status: int = Field(default=200, ge=100, le=599)
    contains: str = Field(default="{username}", min_length=1)
    #: A regular expression whose first group captures the signed-in identity from the page;
    #: ``contains`` must then equal it exactly.
    pattern: str | None = Field(default=None, min_length=1)
    #: An RFC 6901 JSON pointer to the identity in a JSON probe page (e.g. ``/user/email``);
    #: ``contains`` must then equal the value there exactly.
    json_pointer: str | None = Field(default=None, pattern=r"^(/[^/]*)*$")

    @model_validator(mode="after")
    def _names_the_user(self) -> SignedInProbe:
        if not re.search(r"\{(username|email|first_name|last_name)\}", self.contains):
            raise ValueError(
                "contains must name the user with {username}, {email}, {first_name} or "
                "{last_name}, so the probe proves which user is signed in"
            )
        if self.pattern is not None and self.json_pointer is not None:
            raise ValueError("give pattern or json_pointer, not both")
        if self.pattern is not None:
            try:
                groups = re.compile(self.pattern).groups
            except re.error as exc:
                raise ValueError(f"pattern is not a regular expression: {exc}") from None
            if groups < 1:
                raise ValueError(
                    "pattern needs a group that captures the identity, e.g. "
                    "'Signed in as <b>([^<]+)</b>'"
                )
        return self

    def expected_text(self, user: dict[str, str]) -> str:
        return self.contains.format_map(user)


class App(_Section):
    name: str = Field(default="app under test", min_length=1, max_length=200)
    base_url: AbsUrl | None = None
    serve: str | None = Field(default=None, pattern=r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")
    serve_factory: bool = False
    serve_options: dict[str, Any] = Field(default_factory=dict)
    pythonpath: list[str] = Field(default_factory=list)
    #: Required when [saml] or [oidc] is configured (they sign in as this user); a
    #: SCIM-only target needs none. :func:`load` checks this.
    test_user: TestUser | None = None
    signed_in: SignedInProbe | None = None

    @model_validator(mode="after")
    def _base_or_serve(self) -> App:
        if self.base_url is None and self.serve is None:
            raise ValueError(
                'give base_url (where the app runs) or serve = "package.module:wsgi_app" '
                "(start a Python WSGI app in-process)"
            )
        if self.base_url is not None and self.serve is not None:
            raise ValueError(
                "give base_url or serve, not both: base_url is where an app you started "
                "answers, serve starts the app in-process on a port the OS picks (its URL "
                "is then that loopback address); remove one of them"
            )
        return self


class Harness(_Section):
    timeout: float = Field(default=15.0, gt=0, le=300)
    state_dir: str = ".oin-state"


class SamlTarget(_Section):
    acs_url: Url
    audience: str = Field(min_length=1)
    login_url: Url | None = None
    relay_state: str = ""
    nameid_format: Literal[
        "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified",
        "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress",
        "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent",
        "urn:oasis:names:tc:SAML:2.0:nameid-format:transient",
    ] = "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified"
    nameid: str = "{username}"
    attributes: dict[str, str] = Field(default_factory=dict)
    optional_attributes: list[str] = Field(default_factory=list)
    sign: Literal["response", "assertion", "both"] = "both"
    sp_metadata_url: Url | None = None
    sp_metadata_file: str | None = None
    signed_in: SignedInProbe | None = None
    jit: bool = False
    idp_entity_id: str = ""


class ProviderListen(_Section):
    bind: str = "127.0.0.1"
    port: int = Field(default=0, ge=0, le=65535)
    public_url: AbsUrl | None = None


class OidcTarget(_Section):
    login_url: Url
    redirect_uris: list[Url] = Field(min_length=1)
    initiate_login_uri: Url | None = None
    post_logout_redirect_uri: Url | None = None
    issuer: str = ""
    client_id: str = Field(min_length=1)
    client_secret: SecretStr
    signed_in: SignedInProbe | None = None
    provider: ProviderListen = Field(default_factory=ProviderListen)
    jit: bool = False


ScimFeature = Literal[
    "create",
    "update",
    "deactivate",
    "reactivate",
    "import_users",
    "import_groups",
    "group_push",
]


DEFAULT_SCIM_FEATURES: tuple[ScimFeature, ...] = (
    "create",
    "update",
    "deactivate",
    "reactivate",
    "import_users",
)


class ScimAuth(_Section):
    mode: Literal["header", "bearer", "basic", "oauth2"]
    token: SecretStr | None = None
    username: str | None = None
    password: SecretStr | None = None
    token_url: Url | None = None
    client_id: str | None = None
    client_secret: SecretStr | None = None

    @model_validator(mode="after")
    def _complete(self) -> ScimAuth:
        needed = {
            "header": ["token"],
            "bearer": ["token"],
            "basic": ["username", "password"],
            "oauth2": ["token_url", "client_id", "client_secret"],
        }[self.mode]
        missing = [k for k in needed if getattr(self, k) in (None, "")]
        if missing:
            raise ValueError(f'mode = "{self.mode}" needs {", ".join(missing)}')
        return self


class ScimTarget(_Section):
    base_url: Url
    version: Literal["2.0", "1.1"] = "2.0"
    auth: ScimAuth
    features: list[ScimFeature] = Field(default_factory=lambda: list(DEFAULT_SCIM_FEATURES))
    unique_attribute: str = "userName"
    prefix: str = Field(default="oin-test-", pattern=r"^[A-Za-z0-9._-]{3,32}$")


OIN_USE_CASES = (
    "Automation",
    "Centralized Logging",
    "Directory and HR Sync",
    "Identity Governance and Administration (IGA)",
    "Identity Verification",
    "Multifactor Authentication (MFA)",
    "Zero Trust",
)


class SubmissionContact(_Section):
    """One of the submission's ``appContactDetails``."""

    contact_type: Literal["CUSTOMER_SUPPORT", "ESCALATION_SUPPORT"]
    value_type: Literal["URL", "EMAIL", "PHONE"]
    value: str = Field(min_length=1)


class SubmissionTestAccount(_Section):
    """``testInfo.testAccount``: what the OIN analyst signs in with."""

    url: str = ""
    username: str = ""
    password: SecretStr | None = None
    instructions: str = ""


class SubmissionVariable(_Section):
    """A tenant setting (integration variable) the admin fills in per Okta org."""

    name: str
    label: str = ""


class SubmissionTarget(_Section):
    """The OIN submission material (SPEC §8), named after Okta's submissions API fields."""

    name: str = ""
    description: str = ""
    use_cases: list[str] = Field(default_factory=list)
    logo: str = ""
    submitter_email: str = ""
    sign_on_modes: list[Literal["SAML_2_0", "OIDC", "SWA", "SCIM"]] = Field(default_factory=list)
    contacts: list[SubmissionContact] = Field(default_factory=list)
    test_account: SubmissionTestAccount = Field(default_factory=SubmissionTestAccount)
    #: Customer configuration guide per integration type: keys "sso" and "scim".
    guides: dict[Literal["sso", "scim"], Url] = Field(default_factory=dict)
    variables: list[SubmissionVariable] = Field(default_factory=list)

    def logo_path(self, base: Path) -> Path:
        path = Path(os.path.expanduser(self.logo))
        return path if path.is_absolute() else base / path


class Target(_Section):
    """A validated target description."""

    app: App
    harness: Harness = Field(default_factory=Harness)
    saml: SamlTarget | None = None
    oidc: OidcTarget | None = None
    scim: ScimTarget | None = None
    submission: SubmissionTarget | None = None

    # Filled by load(), not by the file.
    path: Path = Field(default=Path("."), exclude=True)
    sha256: str = Field(default="", exclude=True)

    @property
    def protocols(self) -> dict[str, bool]:
        """Which protocols the file configures."""
        return {
            "saml": self.saml is not None,
            "oidc": self.oidc is not None,
            "scim": self.scim is not None,
            "submission": self.submission is not None,
        }

    def secrets(self) -> list[str]:
        """Every secret value in the target, for value-based redaction."""
        found: list[str] = []

        def walk(node: Any) -> None:
            if isinstance(node, SecretStr):
                found.append(node.get_secret_value())
            elif isinstance(node, BaseModel):
                for name in type(node).model_fields:
                    walk(getattr(node, name))
            elif isinstance(node, dict):
                for value in node.values():
                    walk(value)
            elif isinstance(node, list):
                for value in node:
                    walk(value)

        walk(self)
        return [s for s in found if s]

    def state_dir(self) -> Path:
        path = Path(os.path.expanduser(self.harness.state_dir))
        return path if path.is_absolute() else (self.path.parent / path)


# --- loading and error messages -------------------------------------------------------------


def load(
    path: str | os.PathLike[str],
    environ: dict[str, str] | None = None,
    *,
    unset: str | None = None,
) -> Target:
    """Read, resolve and validate a target file, or raise :class:`TargetError`.

    ``unset``: the value an unset ``${VAR}`` takes instead of an error (for commands that
    print settings and never use or show a secret, such as ``oin-conformance op-info``).
    """
    file = Path(path)
    env = dict(os.environ if environ is None else environ)
    try:
        raw_bytes = file.read_bytes()
    except FileNotFoundError:
        raise TargetError(
            f"{file}: the target file does not exist. Fix: pass the path of your target "
            "TOML file to --oin-target, or create one with `oin-conformance init`."
        ) from None
    except OSError as exc:
        raise TargetError(f"{file}: cannot read the target file ({exc.strerror}).") from None
    try:
        data = tomllib.loads(raw_bytes.decode("utf-8"))
    except UnicodeDecodeError:
        raise TargetError(f"{file}: the target file is not UTF-8 text.") from None
    except tomllib.TOMLDecodeError as exc:
        raise TargetError(
            f"{file}: not valid TOML: {exc}. Fix: correct the TOML syntax at that line."
        ) from None
    from_env: set[tuple[str | int, ...]] = set()
    missing_env: list[str] = []
    data = _resolve_env(data, env, (), from_env, file, unset, missing_env)
    # Every mistake at once: unset variables, each validation error, cross-section rules.
    problems = list(missing_env)
    target: Target | None = None
    try:
        target = Target.model_validate(data)
    except ValidationError as exc:
        problems += [p for p in _explain(file, exc, from_env) if p not in problems]
    problems += _cross_checks(file, data)
    if problems or target is None:
        raise TargetError(*problems)
    return target.model_copy(
        update={"path": file.resolve(), "sha256": hashlib.sha256(raw_bytes).hexdigest()}
    )


def _resolve_env(
    node: Any,
    env: dict[str, str],
    loc: tuple[str | int, ...],
    from_env: set[tuple[str | int, ...]],
    file: Path,
    unset: str | None = None,
    missing: list[str] | None = None,
) -> Any:
    """``node`` with ``${VAR}`` resolved. An unset variable takes ``unset`` if given;
    otherwise its message is appended to ``missing`` (raised at once without it)."""
    if isinstance(node, dict):
        return {
            k: _resolve_env(v, env, (*loc, k), from_env, file, unset, missing)
            for k, v in node.items()
        }
    if isinstance(node, list):
        return [
            _resolve_env(v, env, (*loc, i), from_env, file, unset, missing)
            for i, v in enumerate(node)
        ]
    if isinstance(node, str) and "${" in node:

        def sub(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in env and unset is not None:
                return unset
            if name not in env:
                message = (
                    f"{file}: {_where(loc)} refers to environment variable ${{{name}}}, "
                    f"which is not set. Fix: export {name} before running, or write the "
                    "value in the file."
                )
                if missing is None:
                    raise TargetError(message)
                missing.append(message)
                return ""
            return env[name]

        from_env.add(loc)
        return _ENV_REF.sub(sub, node)
    return node


def _where(loc: tuple[str | int, ...]) -> str:
    keys = [str(k) for k in loc]
    if not keys:
        return "the file"
    if len(keys) == 1:
        return f"key '{keys[0]}' at the top level"
    return f"[{'.'.join(keys[:-1])}] key '{keys[-1]}'"


def _model_at(loc: tuple[str | int, ...]) -> type[BaseModel] | None:
    model: type[BaseModel] = Target
    for part in loc:
        if not isinstance(part, str):
            continue
        field = model.model_fields.get(part)
        if field is None:
            return None
        candidates = [field.annotation, *getattr(field.annotation, "__args__", ())]
        nested = next(
            (c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel)), None
        )
        if nested is None:
            return None
        model = nested
    return model


_SECRET_KEYS = {"client_secret", "token", "password"}


def _cross_checks(file: Path, data: Any) -> list[str]:
    """Mistakes that span sections (pydantic validates one section at a time)."""
    if not isinstance(data, dict) or not isinstance(data.get("app"), dict):
        return []  # a missing or malformed [app] is already reported
    signs_in = [f"[{s}]" for s in ("saml", "oidc") if s in data]
    if signs_in and "test_user" not in data["app"]:
        return [
            f"{file}: [app] missing the test user ([app.test_user]): {' and '.join(signs_in)} "
            f"sign(s) in as that user. Fix: add to [app]: {TEST_USER_EXAMPLE} (or a "
            "[app.test_user] table with those keys); only username is required."
        ]
    return []


def _explain(file: Path, exc: ValidationError, from_env: set[tuple[str | int, ...]]) -> list[str]:
    """One message per mistake; a misspelt key first (it explains a "missing" key)."""
    errors = exc.errors(include_url=False)
    errors.sort(key=lambda e: e["type"] != "extra_forbidden")
    suggested: set[tuple[str | int, ...]] = set()
    messages: list[str] = []
    for err in errors:
        loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-")))
        if err["type"] == "missing" and loc in suggested:
            continue  # "unknown key 'acs_ulr'. Did you mean 'acs_url'?" already says it
        message = _explain_one(file, err, loc, from_env)
        match = re.search(r"Did you mean '([^']+)'\?", message)
        if err["type"] == "extra_forbidden" and match:
            suggested.add((*loc[:-1], match.group(1)))
        if message not in messages:
            messages.append(message)
    return messages


def _explain_one(
    file: Path,
    err: Any,
    loc: tuple[str | int, ...],
    from_env: set[tuple[str | int, ...]],
) -> str:
    kind = err["type"]
    section = ".".join(str(p) for p in loc[:-1])
    key = str(loc[-1]) if loc else ""
    if kind == "extra_forbidden":
        model = _model_at(loc[:-1])
        allowed = sorted(model.model_fields) if model else []
        allowed = [a for a in allowed if a not in {"path", "sha256"}]
        close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
        hint = f" Did you mean '{close[0]}'?" if close else ""
        if not section:
            return (
                f"{file}: unknown section [{key}].{hint} Allowed sections: "
                f"{', '.join('[' + a + ']' for a in allowed)}. Fix: rename or remove it."
            )
        return (
            f"{file}: [{section}] unknown key '{key}'.{hint} Allowed keys in [{section}]: "
            f"{', '.join(allowed)}. Fix: rename or remove the key."
        )
    if kind == "missing":
        if not section:
            return f"{file}: missing section [{key}]. Fix: add it (see `oin-conformance init`)."
        if loc[:2] == ("app", "test_user"):
            return (
                f"{file}: [{section}] missing required key '{key}'. Fix: give the test user "
                f"at least a username, e.g. in [app]: {TEST_USER_EXAMPLE}"
            )
        if _model_at(loc) is not None:
            return (
                f"{file}: missing section [{section}.{key}]. Fix: add a [{section}.{key}] "
                "table with its keys (see `oin-conformance init`)."
            )
        return (
            f"{file}: [{section}] missing required key '{key}'. "
            f"Fix: add {key} = ... to [{section}]."
        )
    where = f"[{section}] key '{key}'" if section else (f"[{key}]" if key else "the file")
    secret = key in _SECRET_KEYS or loc in from_env
    value = err.get("input")
    found = "" if secret else f" Found: {_short(value)}."
    if isinstance(value, dict):
        # A whole section: its keys only (a value in it may be a secret or from the env).
        found = f" Found keys: {', '.join(map(str, value)) or 'none'}."
    reason = err["msg"]
    if kind == "literal_error":
        expected = err.get("ctx", {}).get("expected", "")
        return f"{file}: {where} is not allowed.{found} Allowed: {expected}. Fix: use one of those."
    if kind == "value_error":
        reason = reason.removeprefix("Value error, ")
    fix = f"correct {where}"
    if loc == ("app", "test_user"):
        fix = f"write it as a table, e.g. in [app]: {TEST_USER_EXAMPLE}"
    return f"{file}: {where}: {reason}.{found} Fix: {fix}."


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
