"""Mosquitto 2.x on a free loopback port, with optional passwords, ACL and TLS.

The config is generated per instance so each test gets a fresh broker (or a shared one with
known settings). Mosquitto started as root drops to the ``mosquitto`` user unless told
otherwise, and could then no longer read the 0600 files in the work folder, so as root the
config says ``user root``.
"""

from __future__ import annotations

import base64
import hashlib
import os
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from .process import ServerProcess
from .tools import TOOLS, require
from .waiting import LOOPBACK, free_port, tcp_open

__all__ = ["Mosquitto", "MosquittoTLS", "hash_password", "write_password_file"]

_PBKDF2_ITERATIONS = 101  # what mosquitto_passwd 2.x writes for "$7$" hashes


@dataclass(frozen=True)
class MosquittoTLS:
    """Files for a TLS listener; ``require_certificate`` turns on mutual TLS."""

    cafile: Path
    certfile: Path
    keyfile: Path
    require_certificate: bool = False


def hash_password(password: str, salt: bytes | None = None) -> str:
    """Hash ``password`` the way mosquitto_passwd 2.x does (PBKDF2-SHA512, ``$7$`` format)."""
    salt = os.urandom(12) if salt is None else salt
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, _PBKDF2_ITERATIONS)
    encode = base64.b64encode
    return f"$7${_PBKDF2_ITERATIONS}${encode(salt).decode()}${encode(digest).decode()}"


def write_password_file(path: Path, users: Mapping[str, str]) -> None:
    """Write a mosquitto password file, with mosquitto_passwd when it is installed."""
    path.write_text("")
    path.chmod(0o600)
    tool = TOOLS["mosquitto_passwd"].find()
    if tool is None:
        lines = [f"{user}:{hash_password(password)}\n" for user, password in users.items()]
        path.write_text("".join(lines))
        return
    for user, password in users.items():
        subprocess.run(
            [str(tool), "-b", str(path), user, password],
            check=True,
            capture_output=True,
        )


class Mosquitto(ServerProcess):
    """A Mosquitto broker listening on ``host:port`` (TLS there when ``tls`` is given).

    ``users`` maps user names to passwords; when given, anonymous clients are refused unless
    ``allow_anonymous`` says otherwise. ``acl`` is the text of a mosquitto ACL file.
    """

    name = "mosquitto"

    def __init__(
        self,
        workdir: Path | str | None = None,
        *,
        port: int | None = None,
        users: Mapping[str, str] | None = None,
        acl: str | None = None,
        tls: MosquittoTLS | None = None,
        allow_anonymous: bool | None = None,
        persistence: bool = False,
        extra_config: str = "",
        start_timeout: float = 10.0,
    ) -> None:
        self.binary = require("mosquitto")
        super().__init__(workdir, start_timeout=start_timeout)
        self.host = LOOPBACK
        self.port = port or free_port()
        self.users = dict(users or {})
        self.acl = acl
        self.tls = tls
        self.allow_anonymous = not self.users if allow_anonymous is None else allow_anonymous
        self.persistence = persistence
        self.extra_config = extra_config
        self.config_path = self.workdir / "mosquitto.conf"
        self.password_path = self.workdir / "passwd" if self.users else None
        self.acl_path = self.workdir / "acl" if acl is not None else None

    @property
    def url(self) -> str:
        """``mqtt://`` or ``mqtts://`` URL of the listener."""
        scheme = "mqtts" if self.tls else "mqtt"
        return f"{scheme}://{self.host}:{self.port}"

    def _prepare(self) -> None:
        if self.password_path is not None:
            write_password_file(self.password_path, self.users)
        if self.acl_path is not None and self.acl is not None:
            self.acl_path.write_text(self.acl)
            self.acl_path.chmod(0o600)
        self.config_path.write_text(self.config_text())

    def config_text(self) -> str:
        """The generated mosquitto.conf."""
        lines = [
            *(["user root"] if os.geteuid() == 0 else []),
            f"listener {self.port} {self.host}",
            f"allow_anonymous {str(self.allow_anonymous).lower()}",
            f"persistence {str(self.persistence).lower()}",
            f"persistence_location {self.workdir}/",
            "log_dest stderr",
            "log_type error",
            "log_type warning",
            "log_type notice",
            "log_type information",
            "connection_messages true",
            "log_timestamp_format %H:%M:%S",
        ]
        if self.password_path is not None:
            lines.append(f"password_file {self.password_path}")
        if self.acl_path is not None:
            lines.append(f"acl_file {self.acl_path}")
        if self.tls is not None:
            lines += [
                f"cafile {self.tls.cafile}",
                f"certfile {self.tls.certfile}",
                f"keyfile {self.tls.keyfile}",
                f"require_certificate {str(self.tls.require_certificate).lower()}",
            ]
        return "\n".join(lines) + "\n" + self.extra_config + "\n"

    def _command(self) -> list[str]:
        return [str(self.binary), "-c", str(self.config_path)]

    def _is_ready(self) -> bool:
        return tcp_open(self.host, self.port)
