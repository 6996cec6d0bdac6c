"""The example regulator endpoint of the compose stack: checks and logs push's webhooks.

A stand-in for a regulator's platform, in the standard library only: each POST must carry
``X-Hazard-Timestamp`` and ``X-Hazard-Signature: sha256=<hex HMAC-SHA256(key,
timestamp + "." + body)>`` (docs/push.md); a good one is logged once per
``Idempotency-Key`` and answered 204, a bad one 401. ``GET /health`` answers 200.
The key comes from the file named by ``$RECEIVER_SECRET_FILE``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

__all__ = ["Receiver", "main", "signature_ok"]

MAX_SKEW_S = 300
MAX_BODY = 1024 * 1024


def signature_ok(key: bytes, timestamp: str, body: bytes, signature: str, now: float) -> bool:
    """True when ``signature`` signs ``timestamp.body`` with ``key`` and is fresh."""
    if not timestamp.isdigit() or abs(now - int(timestamp)) > MAX_SKEW_S:
        return False
    digest = hmac.new(key, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(signature, f"sha256={digest}")


class Receiver(BaseHTTPRequestHandler):
    """One request: verify, de-duplicate, log."""

    key = b""
    seen: set[str] = set()  # noqa: RUF012 - one receiver per process, shared on purpose

    def do_GET(self) -> None:
        """``/health`` for the compose healthcheck."""
        self._answer(200 if self.path == "/health" else 404)

    def do_POST(self) -> None:
        """Accept a signed item once per idempotency key."""
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            self._answer(413)
            return
        body = self.rfile.read(length)
        stamp = self.headers.get("X-Hazard-Timestamp", "")
        signature = self.headers.get("X-Hazard-Signature", "")
        if not signature_ok(self.key, stamp, body, signature, time.time()):
            print("refused: bad or missing signature", flush=True)
            self._answer(401)
            return
        key = self.headers.get("Idempotency-Key", "")
        if key not in self.seen:
            self.seen.add(key)
            kind = self.headers.get("X-Hazard-Type", "?")
            print(f"{kind}: {json.dumps(json.loads(body), ensure_ascii=False)}", flush=True)
        self._answer(204)

    def _answer(self, status: int) -> None:
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: only the items are printed."""


def main() -> None:
    """Serve on ``$RECEIVER_PORT`` (8000) until stopped."""
    Receiver.key = (
        Path(os.environ["RECEIVER_SECRET_FILE"]).read_text(encoding="utf-8").strip().encode()
    )
    port = int(os.environ.get("RECEIVER_PORT", "8000"))
    server = ThreadingHTTPServer(("0.0.0.0", port), Receiver)  # all interfaces: a container
    print(f"example receiver on :{port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
