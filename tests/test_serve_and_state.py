"""In-process serving and the state folder."""

from __future__ import annotations

import os
import stat
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest
import requests

from oin_conformance.roles.serve import ServedApp, ServeError, import_object
from oin_conformance.state import StateFolder


def test_import_object_errors_are_clear(tmp_path: Path) -> None:
    with pytest.raises(ServeError, match="cannot import 'no_such_module_xyz'"):
        import_object("no_such_module_xyz:app")
    (tmp_path / "mod_without_app.py").write_text("x = 1\n")
    with pytest.raises(ServeError, match="has no attribute 'app'"):
        import_object("mod_without_app:app", [str(tmp_path)])
    (tmp_path / "mod_broken.py").write_text("raise RuntimeError('bad import')\n")
    with pytest.raises(ServeError, match="RuntimeError: bad import"):
        import_object("mod_broken:app", [str(tmp_path)])
    sys.path.remove(str(tmp_path))


def test_served_app_binds_loopback_port_zero_and_keeps_errors() -> None:
    def app(environ: dict[str, object], start_response: object) -> list[bytes]:
        if environ["PATH_INFO"] == "/fail":
            raise ValueError("app bug")
        start_response("200 OK", [("Content-Type", "text/plain")])  # type: ignore[operator]
        return [b"ok"]

    served = ServedApp(app)
    try:
        assert served.url.startswith("http://127.0.0.1:") and served.port > 0
        assert requests.get(served.url + "/", timeout=5).text == "ok"
        assert requests.get(served.url + "/fail", timeout=5).status_code == 500
        assert isinstance(served.errors[0], ValueError)
    finally:
        served.stop()


def test_keypair_is_generated_once_with_mode_0600(tmp_path: Path) -> None:
    folder = StateFolder(tmp_path / "state")
    first = folder.keypair("idp", "test idp")
    second = StateFolder(tmp_path / "state").keypair("idp", "test idp")
    assert first == second
    for name in ("idp.key.pem", "idp.cert.pem"):
        mode = stat.S_IMODE(os.stat(tmp_path / "state" / name).st_mode)
        assert mode == 0o600, oct(mode)
    assert first.certificate.public_key() == first.private_key.public_key()
    assert len(first.kid) == 20 and first.fingerprint_sha256.count(":") == 31


def _generate(path: str) -> str:
    return StateFolder(Path(path)).keypair("op", "race").key_pem


def test_parallel_processes_agree_on_one_key(tmp_path: Path) -> None:
    with ProcessPoolExecutor(max_workers=4) as pool:
        keys = set(pool.map(_generate, [str(tmp_path / "s")] * 4))
    assert len(keys) == 1
    pair = StateFolder(tmp_path / "s").keypair("op", "race")
    assert pair.certificate.public_key() == pair.private_key.public_key()
