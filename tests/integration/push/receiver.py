"""Real HTTP receivers on loopback for the push tests and bench: they check independently.

``Receiver`` verifies every webhook signature and decrypts every mem-http body with its
own few lines (hmac + cryptography), not with gateway.push, so a bug in push's signing or
encryption cannot hide. ``HangingServer`` accepts connections and never answers.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from tests.integration.push.pushkit import HMAC_KEY, SM4_IV, SM4_KEY

# A test decides the answer per request: (status, reason) or None for 200.
Answer = Callable[[str, dict[str, Any]], tuple[int, str] | None]


def verify_webhook(key: bytes, headers: Any, body: bytes) -> bool:
    """The check docs/push.md shows a receiver doing."""
    stamp = headers.get("X-Hazard-Timestamp", "")
    expected = "sha256=" + hmac.new(key, f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, headers.get("X-Hazard-Signature", ""))


def decrypt_mem(key: bytes, iv: bytes, body: bytes) -> tuple[str, list[dict[str, Any]]]:
    """(appid, records) of a mem-http body."""
    wrapper = json.loads(body)
    decryptor = Cipher(algorithms.SM4(key), modes.CBC(iv)).decryptor()
    padded = decryptor.update(bytes.fromhex(wrapper["data"])) + decryptor.finalize()
    unpadder = padding.PKCS7(128).unpadder()
    plain = unpadder.update(padded) + unpadder.finalize()
    return wrapper["appid"], json.loads(plain)


@dataclass
class Got:
    """Everything a receiver accepted, in arrival order."""

    webhook: list[tuple[float, dict[str, str], dict[str, Any]]] = field(default_factory=list)
    mem: list[tuple[float, dict[str, Any]]] = field(default_factory=list)
    bad_signatures: int = 0
    bad_bodies: int = 0
    requests: int = 0
    bad: list[tuple[str, dict[str, str], bytes]] = field(default_factory=list)

    def webhook_alarms(self) -> list[dict[str, Any]]:
        return [body for _, _, body in self.webhook if "event_id" in body]

    def mem_alarms(self) -> list[dict[str, Any]]:
        return [r for _, r in self.mem if r.get("dataType") == "alarm"]


class Receiver:
    """A ThreadingHTTPServer with /webhook and /mem; ``stop()``/``start()`` keep the port."""

    def __init__(self, hmac_key: bytes, sm4_key: bytes, sm4_iv: bytes, port: int = 0) -> None:
        self.hmac_key, self.sm4_key, self.sm4_iv = hmac_key, sm4_key, sm4_iv
        self.got = Got()
        self.answer: Answer = lambda path, body: None
        self.lock = threading.Lock()
        self.port = port
        self._server: ThreadingHTTPServer | None = None
        self.conns: set[socket.socket] = set()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body go out as separate writes

            def setup(self) -> None:
                super().setup()
                with receiver.lock:
                    receiver.conns.add(self.connection)

            def finish(self) -> None:
                with receiver.lock:
                    receiver.conns.discard(self.connection)
                super().finish()

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                if len(body) < length:  # the client went away mid-request
                    return
                status, reason = receiver.take(self.path, dict(self.headers.items()), body)
                data = reason.encode()
                self.send_response(status)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:  # /got: what was accepted (for a receiver in a process)
                with receiver.lock:
                    hooks = [[b.get("event_id"), t] for t, _, b in receiver.got.webhook]
                    body = {"webhook": hooks, "bad_signatures": receiver.got.bad_signatures}
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def take(self, path: str, headers: dict[str, str], body: bytes) -> tuple[int, str]:
        """Check and record one request; the status and reason to answer."""
        now = time.time()
        with self.lock:
            self.got.requests += 1
            if path == "/webhook":
                if not verify_webhook(self.hmac_key, headers, body):
                    self.got.bad_signatures += 1
                    self.got.bad.append((path, headers, body))
                    return 401, "bad signature"
                parsed = json.loads(body)
                answer = self.answer(path, parsed)
                if answer is not None:
                    return answer
                self.got.webhook.append((now, headers, parsed))
                return 200, "ok"
            try:
                _, records = decrypt_mem(self.sm4_key, self.sm4_iv, body)
            except Exception:
                self.got.bad_bodies += 1
                self.got.bad.append((path, headers, body))
                return 400, "cannot decrypt data"
            for record in records:
                answer = self.answer(path, record)
                if answer is not None:
                    return answer
            self.got.mem += [(now, r) for r in records]
            return 200, json.dumps({"code": 0})

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        with self.lock:  # keep-alive connections too: a stopped receiver answers nothing
            for conn in self.conns:
                with contextlib.suppress(OSError):
                    conn.shutdown(socket.SHUT_RDWR)


class HangingServer:
    """Accepts TCP connections and reads forever without answering."""

    def __init__(self) -> None:
        self._sock = socket.create_server(("127.0.0.1", 0))
        self.port = self._sock.getsockname()[1]
        self._conns: list[socket.socket] = []
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hang"

    def _accept(self) -> None:
        while not self._closed:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            self._conns.append(conn)

    def close(self) -> None:
        self._closed = True
        self._sock.close()
        for conn in self._conns:
            conn.close()


def main() -> None:
    """``python -m tests.integration.push.receiver``: serve until killed (bench/push.py)."""
    receiver = Receiver(HMAC_KEY, SM4_KEY, SM4_IV).start()
    print(f"READY {receiver.port}", flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    main()
