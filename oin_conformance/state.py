"""The state folder: keys and certificates the harness generates once and then reuses.

An ISV configures their app once with the IdP certificate and the OP's issuer; the keys
behind them must therefore survive between runs. Files are created with mode 0600 and
published atomically (``os.link`` fails if another process got there first, in which case
that process's file wins and is read back), so parallel workers never disagree on a key.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
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
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = dt.datetime.now(dt.UTC)
    cert = (
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
    return KeyPair.from_objects(key, cert)


class StateFolder:
    """Generated, persistent keys: ``idp`` (SAML signing) and ``op`` (OIDC signing)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def keypair(self, name: str, common_name: str) -> KeyPair:
        """The key pair called ``name``, generated on first use."""
        key_file = self.path / f"{name}.key.pem"
        cert_file = self.path / f"{name}.cert.pem"
        if not (key_file.exists() and cert_file.exists()):
            self.path.mkdir(parents=True, exist_ok=True, mode=0o700)
            pair = generate_keypair(common_name)
            # The key is published first; its certificate is derived only from a key that
            # won the race, so a certificate never describes a key that lost.
            _publish(key_file, pair.key_pem)
            key_pem = key_file.read_text()
            if key_pem == pair.key_pem:
                _publish(cert_file, pair.cert_pem)
            else:
                _wait_for(cert_file)
        return KeyPair(key_pem=key_file.read_text(), cert_pem=cert_file.read_text())


def _publish(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass
    finally:
        os.unlink(tmp)


def _wait_for(path: Path, attempts: int = 200) -> None:
    import time

    for _ in range(attempts):
        if path.exists():
            return
        time.sleep(0.05)
    raise RuntimeError(f"{path} was not written by the process that generated its key")
