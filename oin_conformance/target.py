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

    username: str = Field(
        min_length=1,
        description=(
            "The user's Okta username (also the default NameID and the identity the signed-in "
            "probe looks for)."
        ),
    )
    email: str = Field(
        default="",
        description="The user's email; defaults to `username`.",
    )
    first_name: str = Field(
        default="Test",
        description="The user's first name (SAML attribute and ID token `given_name`).",
    )
    last_name: str = Field(
        default="User",
        description="The user's last name (SAML attribute and ID token `family_name`).",
    )

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

    url: Url = Field(
        description="The page that shows who is signed in, fetched with the session's cookies.",
    )
    status: int = Field(
        default=200,
        ge=100,
        le=599,
        description="The HTTP status that page answers for a signed-in user.",
    )
    contains: str = Field(
        default="{username}",
        min_length=1,
        description=(
            "The signed-in user's identity on that page, templated with `{username}`, `{email}`, "
            "`{first_name}`, `{last_name}`; matched as a whole value."
        ),
    )
    pattern: str | None = Field(
        default=None,
        min_length=1,
        description=(
            "A regular expression whose first group captures the signed-in identity from the "
            "page; `contains` must then equal it exactly."
        ),
    )
    json_pointer: str | None = Field(
        default=None,
        pattern=r"^(/[^/]*)*$",
        description=(
            "An RFC 6901 JSON pointer to the identity in a JSON probe page (e.g. `/user/email`); "
            "`contains` must then equal the value there exactly."
        ),
    )

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
    name: str = Field(
        default="app under test",
        min_length=1,
        max_length=200,
        description="The app's name, as shown in reports (and in the SAML SSO URL's app slug).",
    )
    base_url: AbsUrl | None = Field(
        default=None,
        description=(
            "Where the app runs (an app you started); URLs starting with `/` elsewhere are "
            "relative to it. Give this or `serve`."
        ),
    )
    serve: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$",
        description=(
            "`package.module:wsgi_app`: start a Python WSGI app in-process on 127.0.0.1, on a "
            "port the OS picks. Give this or `base_url`."
        ),
    )
    serve_factory: bool = Field(
        default=False,
        description=(
            "Call `serve` with the harness's settings and `serve_options` to get the WSGI app."
        ),
    )
    serve_options: dict[str, Any] = Field(
        default_factory=dict,
        description="Keyword arguments passed to the `serve_factory` call.",
    )
    pythonpath: list[str] = Field(
        default_factory=list,
        description="Folders to import `serve` from, relative to the target file.",
    )
    test_user: TestUser | None = Field(
        default=None,
        description=(
            "The user the harness signs in as. Required when [saml] or [oidc] is configured (they"
            " sign in as this user); a SCIM-only target needs none."
        ),
    )
    signed_in: SignedInProbe | None = Field(
        default=None,
        description=(
            "How the harness tells who is signed in; a protocol section's own `signed_in` "
            "overrides it."
        ),
    )

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
    timeout: float = Field(
        default=15.0,
        gt=0,
        le=300,
        description="Seconds every HTTP call of the harness may take.",
    )
    state_dir: str = Field(
        default=".oin-state",
        description="Where generated keys are kept (relative to the target file).",
    )


class SamlTarget(_Section):
    acs_url: Url = Field(
        description="The app's Assertion Consumer Service URL, where signed responses are posted.",
    )
    audience: str = Field(
        min_length=1,
        description="The app's SP entity ID (the assertion's Audience).",
    )
    login_url: Url | None = Field(
        default=None,
        description=(
            "The app's sign-in URL that starts SP-initiated SAML (omit if the app has none)."
        ),
    )
    relay_state: str = Field(
        default="",
        description="The RelayState sent with IdP-initiated responses.",
    )
    nameid_format: Literal[
        "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified",
        "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress",
        "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent",
        "urn:oasis:names:tc:SAML:2.0:nameid-format:transient",
    ] = Field(
        default="urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified",
        description="The NameID format of the responses.",
    )
    nameid: str = Field(
        default="{username}",
        description="The NameID value, templated with the test user's fields.",
    )
    attributes: dict[str, str] = Field(
        default_factory=dict,
        description=(
            "Attribute statements: attribute name -> value templated with the test user's fields."
        ),
    )
    optional_attributes: list[str] = Field(
        default_factory=list,
        description=(
            "Attributes the app does not require (checks that drop an attribute skip these)."
        ),
    )
    sign: Literal["response", "assertion", "both"] = Field(
        default="both",
        description="What Okta signs, as configured in the app's Okta settings.",
    )
    sp_metadata_url: Url | None = Field(
        default=None,
        description="The app's SP metadata URL (for its certificates and endpoints).",
    )
    sp_metadata_file: str | None = Field(
        default=None,
        description="The app's SP metadata as a file (relative to the target file).",
    )
    signed_in: SignedInProbe | None = Field(
        default=None,
        description="The signed-in probe for SAML sign-ins (overrides [app.signed_in]).",
    )
    jit: bool = Field(
        default=False,
        description=(
            "The app creates unknown users at their first sign-in (just-in-time provisioning)."
        ),
    )
    idp_entity_id: str = Field(
        default="",
        description=(
            "The IdP entity ID the app is configured with; default `http://www.okta.com/exk…` "
            "derived from the IdP key."
        ),
    )


class ProviderListen(_Section):
    bind: str = Field(
        default="127.0.0.1",
        description="The address the harness's OIDC provider listens on.",
    )
    port: int = Field(
        default=0,
        ge=0,
        le=65535,
        description="Its port; 0 picks a free one (pin it for an app you configure by hand).",
    )
    public_url: AbsUrl | None = Field(
        default=None,
        description=(
            "The org URL the app reaches the provider at, when it is not the bind address (no "
            "path)."
        ),
    )


class OidcTarget(_Section):
    login_url: Url = Field(
        description="The app's sign-in URL that starts the authorization code flow.",
    )
    redirect_uris: list[Url] = Field(
        min_length=1,
        description="The app's registered redirect URIs (at least one).",
    )
    initiate_login_uri: Url | None = Field(
        default=None,
        description="The app's initiate-login URI (Okta-initiated sign-in), if it has one.",
    )
    post_logout_redirect_uri: Url | None = Field(
        default=None,
        description="Where the app asks to be sent back after RP-initiated logout, if it does.",
    )
    issuer: str = Field(
        default="",
        description="The issuer the app is configured with, when it is not the provider's own URL.",
    )
    client_id: str = Field(
        min_length=1,
        description="The client ID the app is configured with.",
    )
    client_secret: SecretStr = Field(
        description="The client secret the app is configured with.",
    )
    signed_in: SignedInProbe | None = Field(
        default=None,
        description="The signed-in probe for OIDC sign-ins (overrides [app.signed_in]).",
    )
    provider: ProviderListen = Field(
        default_factory=ProviderListen,
        description="Where the harness's Okta org authorization server listens.",
    )
    jit: bool = Field(
        default=False,
        description=(
            "The app creates unknown users at their first sign-in (just-in-time provisioning)."
        ),
    )


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
    mode: Literal["header", "bearer", "basic", "oauth2"] = Field(
        description=(
            "How Okta authenticates to the SCIM server: `header` (the token as the Authorization "
            "header), `bearer`, `basic` or `oauth2`."
        ),
    )
    token: SecretStr | None = Field(
        default=None,
        description="The token, for `header` and `bearer`.",
    )
    username: str | None = Field(
        default=None,
        description="The user name, for `basic`.",
    )
    password: SecretStr | None = Field(
        default=None,
        description="The password, for `basic`.",
    )
    token_url: Url | None = Field(
        default=None,
        description="The token endpoint, for `oauth2`.",
    )
    client_id: str | None = Field(
        default=None,
        description="The client ID, for `oauth2`.",
    )
    client_secret: SecretStr | None = Field(
        default=None,
        description="The client secret, for `oauth2`.",
    )

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


def _entitlement_endpoints(value: list[str]) -> list[str]:
    """``[scim] entitlements``: resource endpoints below the SCIM base URL, each once."""
    for endpoint in value:
        if not re.fullmatch(r"/[A-Za-z][A-Za-z0-9_-]*", endpoint):
            raise ValueError(
                f"{endpoint!r} is not an entitlement endpoint: give the path below the SCIM "
                'base URL of each resource type Okta governs, e.g. ["/Roles", "/Entitlements"]'
            )
        if endpoint in ("/Users", "/Groups"):
            raise ValueError(
                f"{endpoint} is not an entitlement endpoint (Okta reads users and groups "
                'anyway): list only the app\'s roles, licences and the like, e.g. ["/Roles"]'
            )
    if len(set(value)) != len(value):
        raise ValueError("entitlements names an endpoint twice; name each one once")
    return value


class ScimTarget(_Section):
    base_url: Url = Field(
        description="The SCIM base URL (where `/Users` and `/Groups` are).",
    )
    version: Literal["2.0", "1.1"] = Field(
        default="2.0",
        description="The SCIM version the app speaks.",
    )
    auth: ScimAuth = Field(
        description="How Okta authenticates to the SCIM server.",
    )
    features: list[ScimFeature] = Field(
        default_factory=lambda: list(DEFAULT_SCIM_FEATURES),
        description=(
            "The provisioning features the integration claims (the checks of the others are "
            "skipped)."
        ),
    )
    unique_attribute: str = Field(
        default="userName",
        description="The SCIM attribute Okta matches users on.",
    )
    prefix: str = Field(
        default="oin-test-",
        pattern=r"^[A-Za-z0-9._-]{3,32}$",
        description="The prefix of every resource the harness creates (it touches nothing else).",
    )
    entitlements: Annotated[list[str], AfterValidator(_entitlement_endpoints)] = Field(
        default_factory=list,
        description=(
            'Endpoints of the entitlement resource types ("SCIM 2.0 with entitlements" apps), '
            "each read by Okta's Entitlements test (`GET {endpoint}?count=1&startIndex=1`), e.g. "
            '`["/Roles"]`.'
        ),
    )
    latency_limit: float = Field(
        default=60.0,
        gt=0,
        le=60,
        description=(
            "Seconds every SCIM request must be answered in: Okta closes the socket after 60 (the"
            " default); a lower value keeps a margin for production latency."
        ),
    )

    @model_validator(mode="after")
    def _entitlements_need_2_0(self) -> ScimTarget:
        if self.entitlements and self.version != "2.0":
            raise ValueError(
                'entitlements need version = "2.0" (Okta governs entitlements only through '
                "SCIM 2.0); remove entitlements or set version to 2.0"
            )
        return self


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

    contact_type: Literal["CUSTOMER_SUPPORT", "ESCALATION_SUPPORT"] = Field(
        description="Which contact this is.",
    )
    value_type: Literal["URL", "EMAIL", "PHONE"] = Field(
        description="What `value` is.",
    )
    value: str = Field(
        min_length=1,
        description="The contact's URL, email address or phone number.",
    )


class SubmissionTestAccount(_Section):
    """``testInfo.testAccount``: what the OIN analyst signs in with."""

    url: str = Field(
        default="",
        description="Where the OIN analyst signs in.",
    )
    username: str = Field(
        default="",
        description="The analyst's test account user name.",
    )
    password: SecretStr | None = Field(
        default=None,
        description="The analyst's test account password.",
    )
    instructions: str = Field(
        default="",
        description="Anything else the analyst needs to know to test the app.",
    )


class SubmissionVariable(_Section):
    """A tenant setting (integration variable) the admin fills in per Okta org."""

    name: str = Field(
        description="The variable's name.",
    )
    label: str = Field(
        default="",
        description="The label the Okta admin sees.",
    )


class SubmissionTarget(_Section):
    """The OIN submission material (SPEC §8), named after Okta's submissions API fields."""

    name: str = Field(
        default="",
        description="The integration's name in the OIN catalogue.",
    )
    description: str = Field(
        default="",
        description="The catalogue description of the integration.",
    )
    use_cases: list[str] = Field(
        default_factory=list,
        description="The OIN use cases the integration belongs to.",
    )
    logo: str = Field(
        default="",
        description="The logo file (relative to the target file).",
    )
    submitter_email: str = Field(
        default="",
        description="The submitter's email address.",
    )
    sign_on_modes: list[Literal["SAML_2_0", "OIDC", "SWA", "SCIM"]] = Field(
        default_factory=list,
        description="The sign-on and provisioning modes submitted.",
    )
    contacts: list[SubmissionContact] = Field(
        default_factory=list,
        description="The submission's support contacts (`appContactDetails`).",
    )
    test_account: SubmissionTestAccount = Field(
        default_factory=SubmissionTestAccount,
        description="What the OIN analyst signs in with (`testInfo.testAccount`).",
    )
    guides: dict[Literal["sso", "scim"], Url] = Field(
        default_factory=dict,
        description='Customer configuration guide per integration type: keys "sso" and "scim".',
    )
    variables: list[SubmissionVariable] = Field(
        default_factory=list,
        description="Tenant settings (integration variables) the admin fills in per Okta org.",
    )

    def logo_path(self, base: Path) -> Path:
        path = Path(os.path.expanduser(self.logo))
        return path if path.is_absolute() else base / path


UniversalLogoutFormat = Literal["email", "iss_sub"]
DEFAULT_UL_FORMATS: tuple[UniversalLogoutFormat, ...] = ("email",)
#: The test user's fields a template may name (see :meth:`TestUser.fields`).
_USER_FIELDS = ("username", "email", "first_name", "last_name")


class RefreshTokenProbe(_Section):
    """How the harness holds one of the app's own refresh tokens for the signed-in user and
    redeems it (RFC 6749 §6), to see Universal Logout revoke it.

    ``issue_url`` is fetched with the signed-in session and answers JSON carrying a refresh
    token at ``json_pointer``; ``token_url`` takes ``grant_type=refresh_token`` (with
    ``client_id``, and ``client_secret`` as HTTP Basic when given).
    """

    issue_url: Url = Field(
        description=(
            "Fetched with the signed-in session; answers JSON carrying one of the app's refresh "
            "tokens for the user."
        ),
    )
    json_pointer: str = Field(
        default="/refresh_token",
        pattern=r"^(/[^/]*)+$",
        description="Where the refresh token is in that JSON (RFC 6901).",
    )
    token_url: Url = Field(
        description="The app's token endpoint that redeems it (`grant_type=refresh_token`).",
    )
    client_id: str = Field(
        default="",
        description="The `client_id` sent with the refresh grant.",
    )
    client_secret: SecretStr | None = Field(
        default=None,
        description="The client secret, sent as HTTP Basic with the refresh grant when given.",
    )


class UniversalLogoutTarget(_Section):
    """Universal Logout: the app's Global Token Revocation endpoint, as the OIN Wizard
    describes it (endpoint, subject format, partial support; the only auth method Okta has
    is ``SIGNED_JWT``, which is what the harness sends)."""

    endpoint: Url = Field(
        max_length=1024,
        description=(
            "The Global Token Revocation endpoint (the Wizard allows at most 1024 characters)."
        ),
    )
    subject_formats: list[UniversalLogoutFormat] = Field(
        default_factory=lambda: list(DEFAULT_UL_FORMATS),
        min_length=1,
        description=(
            'How the app identifies the user in a logout request: "email" (Okta\'s default) and/or'
            ' "iss_sub" (the issuer and the user\'s identifier within the app).'
        ),
    )
    partial_support: bool = Field(
        default=False,
        description=(
            'The Wizard\'s "Partial support": the app revokes only refresh tokens, not sessions.'
        ),
    )
    user_id: str = Field(
        default="",
        description=(
            "The test user's identifier within the app (the `sub` of an `iss_sub` subject), "
            'templated like [app.signed_in] contains; needed when "iss_sub" is claimed.'
        ),
    )
    refresh_token: RefreshTokenProbe | None = Field(
        default=None,
        description=(
            "How the harness holds and redeems one of the app's refresh tokens, to see Universal "
            "Logout revoke it."
        ),
    )

    @model_validator(mode="after")
    def _consistent(self) -> UniversalLogoutTarget:
        if len(set(self.subject_formats)) != len(self.subject_formats):
            raise ValueError("subject_formats names a format twice; name each one once")
        if "iss_sub" in self.subject_formats and not self.user_id:
            raise ValueError(
                'subject_formats claims "iss_sub", which names the user by their identifier '
                'within the app: add user_id (e.g. user_id = "{username}", or the test '
                "user's id in the app)"
            )
        unknown = set(re.findall(r"\{([^{}]*)\}", self.user_id)) - set(_USER_FIELDS)
        if unknown:
            raise ValueError(
                f"user_id may name only {', '.join('{' + f + '}' for f in _USER_FIELDS)}; "
                f"it names {', '.join('{' + u + '}' for u in sorted(unknown))}"
            )
        return self


class Target(_Section):
    """A validated target description."""

    app: App = Field(
        description="The app under test.",
    )
    harness: Harness = Field(
        default_factory=Harness,
        description="How the harness itself behaves.",
    )
    saml: SamlTarget | None = Field(
        default=None,
        description="SAML 2.0 SSO: the harness is Okta's IdP.",
    )
    oidc: OidcTarget | None = Field(
        default=None,
        description="OpenID Connect SSO: the harness is Okta's org authorization server.",
    )
    scim: ScimTarget | None = Field(
        default=None,
        description="SCIM provisioning: the harness is Okta's provisioning client.",
    )
    universal_logout: UniversalLogoutTarget | None = Field(
        default=None,
        description="Universal Logout: the harness sends Okta's Global Token Revocation requests.",
    )
    submission: SubmissionTarget | None = Field(
        default=None,
        description=(
            "The OIN submission material (SPEC §8), named after Okta's submissions API fields."
        ),
    )

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
            "universal_logout": self.universal_logout is not None,
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
    problems: list[str] = []
    signs_in = [f"[{s}]" for s in ("saml", "oidc") if s in data]
    if signs_in and "test_user" not in data["app"]:
        problems.append(
            f"{file}: [app] missing the test user ([app.test_user]): {' and '.join(signs_in)} "
            f"sign(s) in as that user. Fix: add to [app]: {TEST_USER_EXAMPLE} (or a "
            "[app.test_user] table with those keys); only username is required."
        )
    if "universal_logout" in data and not signs_in:
        problems.append(
            f"{file}: [universal_logout] needs [saml] or [oidc]: the harness signs the test "
            "user in through one of them, then asks the app to log them out. Fix: add the "
            "[saml] or [oidc] section your Okta integration uses (see `oin-conformance init`)."
        )
    return problems


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
