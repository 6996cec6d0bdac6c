"""Who is logged in: argon2id passwords, server-side sessions, a login rate limit.

Sessions live in memory on the server: the cookie carries only a random token, so a
stolen cookie cannot be widened into a role and logging out really ends it. Each
session has its own CSRF token, sent back by the page in ``X-CSRF-Token`` on every
state-changing request. Failed logins are counted per client address and per user name
inside a sliding window; past the limit the login answers 429 with ``Retry-After``
without even checking the password, so guessing costs the attacker time, not us CPU.
Time comes from an injected clock so the tests need no sleeping.
"""

from __future__ import annotations

import secrets
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from gateway.web.config import Role, User

__all__ = ["LoginLimiter", "Session", "Sessions", "hash_password", "verify_password"]

_HASHER = PasswordHasher()
# A hash to verify against when the user does not exist: equal timing, no user oracle.
_DUMMY = _HASHER.hash(secrets.token_hex(16))


def hash_password(password: str) -> str:
    """An argon2id PHC string for the config file."""
    return _HASHER.hash(password)


def verify_password(user: User | None, password: str) -> bool:
    """True when ``password`` matches ``user``'s hash (constant work when user is None)."""
    stored = user.password_hash if user is not None else _DUMMY
    try:
        ok = _HASHER.verify(stored, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
    return ok and user is not None


@dataclass
class Session:
    """One logged-in browser."""

    token: str
    user: str
    role: Role
    csrf: str
    expires: float

    def may(self, needed: Role) -> bool:
        """True when this session's role is at least ``needed``."""
        order = (Role.VIEWER, Role.OPERATOR, Role.ADMIN)
        return order.index(self.role) >= order.index(needed)


@dataclass
class Sessions:
    """Server-side sessions by token, expiring after ``ttl_s``."""

    ttl_s: float
    clock: Callable[[], float] = time.time
    _by_token: dict[str, Session] = field(default_factory=dict)

    def create(self, user: User) -> Session:
        """A fresh session (new token and CSRF token) for ``user``."""
        self._expire()
        session = Session(
            token=secrets.token_urlsafe(32),
            user=user.name,
            role=user.role,
            csrf=secrets.token_urlsafe(24),
            expires=self.clock() + self.ttl_s,
        )
        self._by_token[session.token] = session
        return session

    def get(self, token: str | None) -> Session | None:
        """The live session for ``token``, or None."""
        if not token:
            return None
        session = self._by_token.get(token)
        if session is None or session.expires <= self.clock():
            self._by_token.pop(token or "", None)
            return None
        return session

    def end(self, token: str | None) -> None:
        """Log out."""
        self._by_token.pop(token or "", None)

    def _expire(self) -> None:
        now = self.clock()
        for token in [t for t, s in self._by_token.items() if s.expires <= now]:
            del self._by_token[token]


@dataclass
class LoginLimiter:
    """At most ``limit`` failed logins per key (address, user) within ``window_s``."""

    limit: int = 5
    window_s: float = 300.0
    clock: Callable[[], float] = time.time
    _failures: dict[str, deque[float]] = field(default_factory=dict)

    def retry_after(self, *keys: str) -> float:
        """Seconds until a login may be tried again for any of ``keys`` (0: now)."""
        now = self.clock()
        wait = 0.0
        for key in keys:
            times = self._failures.get(key)
            if not times:
                continue
            while times and times[0] <= now - self.window_s:
                times.popleft()
            if len(times) >= self.limit:
                wait = max(wait, times[0] + self.window_s - now)
        return wait

    def failed(self, *keys: str) -> None:
        """Count one failed login against each key."""
        now = self.clock()
        for key in keys:
            self._failures.setdefault(key, deque()).append(now)
        if len(self._failures) > 10_000:  # bounded memory under a spray of names
            self._failures.pop(next(iter(self._failures)))

    def succeeded(self, *keys: str) -> None:
        """Forget the failures of ``keys`` after a good login."""
        for key in keys:
            self._failures.pop(key, None)
