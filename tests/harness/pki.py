"""A throwaway certificate authority for TLS tests, made with the ``openssl`` command.

The security tests need a broker that speaks TLS with a certificate clients can verify, and a
client certificate for mutual TLS. Generating them per run (EC P-256, valid two days) keeps
private keys out of the repository and avoids certificates that expire in it.
"""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .tools import require

__all__ = ["TestPKI", "make_test_pki"]

_EC_KEY = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes")
_VALIDITY = ("-days", "2", "-sha256")
_CA_EXTENSIONS = (
    "basicConstraints=critical,CA:TRUE",
    "keyUsage=critical,keyCertSign,cRLSign",
    "subjectKeyIdentifier=hash",
)


@dataclass(frozen=True)
class TestPKI:
    """Paths of the generated PEM files."""

    __test__ = False  # not a pytest test class despite the name

    ca_cert: Path
    ca_key: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path


def _openssl(openssl: Path, *args: str | Path) -> None:
    """Run one openssl command; raise with its stderr when it fails."""
    result = subprocess.run(
        [str(openssl), *map(str, args)], capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        msg = f"openssl {' '.join(map(str, args))} failed:\n{result.stderr}"
        raise RuntimeError(msg)


def _leaf_extensions(names: Sequence[str], ips: Sequence[str], usage: str) -> str:
    """The X.509v3 extensions of a server or client certificate."""
    alt = [f"DNS:{name}" for name in names] + [f"IP:{ip}" for ip in ips]
    lines = [
        "basicConstraints=critical,CA:FALSE",
        "keyUsage=critical,digitalSignature,keyEncipherment",
        f"extendedKeyUsage={usage}",
        "subjectKeyIdentifier=hash",
        "authorityKeyIdentifier=keyid",
    ]
    if alt:
        lines.append("subjectAltName=" + ",".join(alt))
    return "\n".join(lines) + "\n"


def _issue(openssl: Path, folder: Path, stem: str, common_name: str, extensions: str) -> None:
    """Make ``<stem>.key`` and ``<stem>.crt`` signed by the CA in ``folder``."""
    ext_file = folder / f"{stem}.ext"
    ext_file.write_text(extensions)
    csr = folder / f"{stem}.csr"
    key = folder / f"{stem}.key"
    _openssl(
        openssl, "req", "-new", *_EC_KEY, "-keyout", key, "-out", csr, "-subj", f"/CN={common_name}"
    )
    signing = ("-CA", folder / "ca.crt", "-CAkey", folder / "ca.key", "-CAcreateserial")
    crt = folder / f"{stem}.crt"
    _openssl(
        openssl, "x509", "-req", "-in", csr, *signing, *_VALIDITY, "-extfile", ext_file, "-out", crt
    )


def make_test_pki(
    folder: Path | str,
    hostnames: Sequence[str] = ("localhost",),
    ips: Sequence[str] = ("127.0.0.1",),
    client_name: str = "test-client",
) -> TestPKI:
    """Create a CA, a server certificate for ``hostnames``/``ips`` and a client certificate."""
    openssl = require("openssl")
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    ca_ext = [*_VALIDITY, *(arg for ext in _CA_EXTENSIONS for arg in ("-addext", ext))]
    ca_key, ca_crt = out / "ca.key", out / "ca.crt"
    subject = ("-subj", "/CN=hazard-gateway test CA")
    _openssl(
        openssl, "req", "-x509", *_EC_KEY, "-keyout", ca_key, "-out", ca_crt, *subject, *ca_ext
    )
    _issue(
        openssl,
        out,
        "server",
        hostnames[0] if hostnames else "server",
        _leaf_extensions(hostnames, ips, "serverAuth"),
    )
    _issue(openssl, out, "client", client_name, _leaf_extensions([], [], "clientAuth"))
    for key in out.glob("*.key"):
        key.chmod(0o600)
    return TestPKI(
        ca_cert=ca_crt,
        ca_key=ca_key,
        server_cert=out / "server.crt",
        server_key=out / "server.key",
        client_cert=out / "client.crt",
        client_key=out / "client.key",
    )
