"""The state folder: keys and certificates the harness generates once and then reuses.

An ISV configures their app once with the IdP certificate and the OP's issuer; the keys
behind them must therefore survive between runs. Files are created with mode 0600 and
published atomically (``os.link`` fails if another process got there first, in which case
that process's file wins and is read back), so parallel workers never disagree on a key.

The folder holds the private key the ISV's app trusts: it is kept at mode 0700 (also when it
already existed) with its keys at 0600, and it carries a ``.gitignore`` of ``*`` (as pytest's
``.pytest_cache`` does), since it sits beside the target in the ISV's repository. A run
killed between publishing a key and its certificate leaves a key alone: the next run derives
the certificate from that key.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import stat
import tempfile
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID


@dataclass(frozen=True)
class KeyPair:
    """An RSA private key with a self-signed certificate, as PEM text."""

    key_pem: str
    cert_pem: str

    @classmethod
    def from_objects(cls, key: rsa.RSAPrivateKey, cert: x509.Certificate) -> KeyPair:
        """A key pair from loaded objects (kept, so nothing is parsed again)."""
        pair = cls(
            key_pem=key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            ).decode(),
            cert_pem=cert.public_bytes(serialization.Encoding.PEM).decode(),
        )
        pair.__dict__["private_key"] = key
        pair.__dict__["certificate"] = cert
        return pair

    @cached_property
    def private_key(self) -> rsa.RSAPrivateKey:
        key = serialization.load_pem_private_key(self.key_pem.encode(), password=None)
        assert isinstance(key, rsa.RSAPrivateKey)
        return key

    @cached_property
    def certificate(self) -> x509.Certificate:
        return x509.load_pem_x509_certificate(self.cert_pem.encode())

    @property
    def cert_b64(self) -> str:
        """The certificate's DER as base64 on one line (as in SAML metadata)."""
        return "".join(
            line for line in self.cert_pem.strip().splitlines() if not line.startswith("-----")
        )

    @property
    def fingerprint_sha256(self) -> str:
        digest = self.certificate.fingerprint(hashes.SHA256()).hex().upper()
        return ":".join(digest[i : i + 2] for i in range(0, len(digest), 2))

    @property
    def kid(self) -> str:
        """A key id unique to this key (a hash of its public key)."""
        der = self.private_key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return hashlib.sha256(der).hexdigest()[:20]


def generate_keypair(common_name: str, bits: int = 2048, days: int = 3650) -> KeyPair:
    """A fresh RSA key and a self-signed certificate for ``common_name``."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    return KeyPair.from_objects(key, self_signed(key, common_name, days))


def self_signed(key: rsa.RSAPrivateKey, common_name: str, days: int = 3650) -> x509.Certificate:
    """A self-signed certificate of ``key`` for ``common_name``, valid for ``days``."""
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = dt.datetime.now(dt.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )


class StateError(Exception):
    """The state folder holds something the harness cannot use; the message says what to do."""


#: What the harness keeps in a state folder (anything else means the folder is not only ours).
_STATE_ENTRIES = (
    "*.key.pem",
    "*.cert.pem",
    ".*.pem.*",
    "scim-ledger",
    ".gitignore",
    "..gitignore.*",
    ".DS_Store",
)
GITIGNORE = "# Written by oin-conformance: generated private keys and run journals.\n*\n"


class StateFolder:
    """Generated, persistent keys: ``idp`` (SAML signing) and ``op`` (OIDC signing)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._prepared = False

    def prepare(self) -> None:
        """Create the folder (0700), tighten an existing one to 0700, and write its
        ``.gitignore`` — the last two only when the folder holds nothing but state (a
        ``state_dir`` pointed at a folder of the ISV's own is left as it is)."""
        if self._prepared:
            return
        try:
            self.path.mkdir(parents=True, exist_ok=True, mode=0o700)
            if _only_state(self.path):
                _tighten(self.path, 0o700)
                ignore = self.path / ".gitignore"
                if not ignore.exists():
                    _publish(ignore, GITIGNORE, mode=0o644)
        except OSError as exc:
            raise StateError(
                f"cannot use the state folder {self.path}: {exc.strerror or exc} (set "
                "[harness] state_dir or --oin-state to a folder this user can write)"
            ) from None
        self._prepared = True

    def keypair(self, name: str, common_name: str) -> KeyPair:
        """The key pair called ``name``, generated on first use."""
        key_file = self.path / f"{name}.key.pem"
        cert_file = self.path / f"{name}.cert.pem"
        self.prepare()
        if not key_file.exists():
            if cert_file.exists():
                raise StateError(
                    f"{cert_file} has no key beside it ({key_file.name} is missing), so it "
                    f"cannot sign anything: delete {cert_file} and run again to generate a "
                    "new key and certificate (then configure your app with the new one)"
                )
            pair = generate_keypair(common_name)
            # The key is published first; its certificate is derived only from a key that
            # won the race, so a certificate never describes a key that lost.
            _publish(key_file, pair.key_pem)
            if key_file.read_text() == pair.key_pem:
                _publish(cert_file, pair.cert_pem)
        key_pem = key_file.read_text()
        _tighten(key_file, 0o600)
        if not cert_file.exists():
            # Another process is about to publish it, or a run was killed between publishing
            # the key and its certificate: derive one from the published key. Whoever links
            # first wins; every process reads back the same file.
            key = _load_key(key_file, key_pem, cert_file)
            cert = self_signed(key, common_name)
            _publish(cert_file, cert.public_bytes(serialization.Encoding.PEM).decode())
        _tighten(cert_file, 0o600)
        pair = KeyPair(key_pem=key_pem, cert_pem=cert_file.read_text())
        _check_pair(pair, key_file, cert_file)
        return pair


def _only_state(folder: Path) -> bool:
    return all(any(entry.match(p) for p in _STATE_ENTRIES) for entry in folder.iterdir())


def _tighten(path: Path, mode: int) -> None:
    """Give ``path`` exactly ``mode`` if it has more (a file someone else owns is left)."""
    try:
        current = stat.S_IMODE(path.stat().st_mode)
        if current & ~mode:
            os.chmod(path, current & mode)
    except PermissionError:
        pass


def _load_key(key_file: Path, key_pem: str, cert_file: Path) -> rsa.RSAPrivateKey:
    try:
        key = serialization.load_pem_private_key(
            key_pem.encode(), password=None, unsafe_skip_rsa_key_validation=True
        )
    except (ValueError, TypeError) as exc:
        key = None
        why = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    else:
        why = "not an RSA key"
    if not isinstance(key, rsa.RSAPrivateKey):
        raise StateError(
            f"{key_file} is not an unencrypted RSA private key in PEM ({why}): delete "
            f"{key_file} and {cert_file} and run again to generate a new pair (then "
            "configure your app with the new certificate)"
        )
    return key


def _check_pair(pair: KeyPair, key_file: Path, cert_file: Path) -> None:
    """The certificate must describe the key (a hand-edited folder may mix them up)."""
    key = _load_key(key_file, pair.key_pem, cert_file)
    try:
        cert_public = pair.certificate.public_key()
    except ValueError:
        cert_public = None
    if not (
        isinstance(cert_public, rsa.RSAPublicKey)
        and cert_public.public_numbers() == key.public_key().public_numbers()
    ):
        raise StateError(
            f"{cert_file} does not belong to the key {key_file} (another key's certificate, "
            f"or not a PEM certificate): delete {cert_file} and run again, and the harness "
            "derives it from the key"
        )


def _publish(path: Path, text: str, mode: int = 0o600) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass
    finally:
        os.unlink(tmp)
