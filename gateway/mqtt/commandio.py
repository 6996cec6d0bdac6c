"""Command plumbing of one MQTT session: reply topics, the reply queue, the two tasks.

The publisher reads commands and publishes replies in two tasks so that checking a
command never waits for a reply's PUBACK. Between them sits :class:`ReplyQueue`: replies
to fresh signed commands go out before any refusal, and refusals are bounded, so a
flood of garbage costs bounded memory and never delays an operator's ack.
:class:`CommandTasks` restarts either task if it dies of anything but a lost
connection. :func:`topic_level` is the only way a ``request_id`` becomes a topic level.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections import deque
from collections.abc import Callable, Coroutine
from typing import Any

import aiomqtt

from gateway.contracts.command import REQUEST_ID_PATTERN, is_trusted_reply

__all__ = ["REFUSAL_BACKLOG", "CommandTasks", "ReplyQueue", "TaskFactory", "topic_level"]

log = logging.getLogger(__name__)

#: Refusal replies waiting to go out; beyond this the oldest are dropped (and counted).
REFUSAL_BACKLOG = 64
_REQUEST_ID = re.compile(REQUEST_ID_PATTERN)

#: Starts a session task (the reader or the sender) given the session's reply queue.
TaskFactory = Callable[["ReplyQueue"], Coroutine[Any, Any, None]]


def topic_level(request_id: object) -> str:
    """``request_id`` if it matches the contract's pattern, else ``unknown``.

    The id comes from an untrusted payload, even in a refused command: a wildcard makes
    paho raise, ``/`` would reply on another topic, 70,000 characters or a lone surrogate
    make the publish fail, a control character gets us disconnected for a malformed
    packet. Only the strict character set of :data:`REQUEST_ID_PATTERN` is let through.
    """
    if isinstance(request_id, str) and _REQUEST_ID.fullmatch(request_id):
        return request_id
    return "unknown"


class ReplyQueue:
    """Replies waiting to be published: trusted ones first, refusals bounded.

    Trusted replies (to fresh signed commands) are never dropped; refusals beyond
    :data:`REFUSAL_BACKLOG` push the oldest refusal out, so a flood costs bounded memory.
    """

    def __init__(self, backlog: int = REFUSAL_BACKLOG) -> None:
        self._trusted: deque[dict[str, Any]] = deque()
        self._refusals: deque[dict[str, Any]] = deque()
        self._backlog = backlog
        self._ready = asyncio.Event()

    def put(self, reply: dict[str, Any]) -> bool:
        """Queue ``reply``; False when an older refusal had to be dropped for it."""
        self._ready.set()
        if is_trusted_reply(reply):
            self._trusted.append(reply)
            return True
        self._refusals.append(reply)
        if len(self._refusals) > self._backlog:
            self._refusals.popleft()
            return False
        return True

    async def get(self) -> dict[str, Any]:
        """The next reply to publish, waiting for one if none is queued."""
        while not (self._trusted or self._refusals):
            self._ready.clear()
            await self._ready.wait()
        return self._trusted.popleft() if self._trusted else self._refusals.popleft()


class CommandTasks:
    """The command reader and reply sender of one session, restarted if they die.

    A lost connection (MqttError) in either ends the session like a failed publish
    would; any other end is a bug, logged and counted (``on_restart``), and the task
    starts again. ``None`` factories (no command handler) start nothing.
    """

    def __init__(
        self,
        reader: TaskFactory | None,
        sender: TaskFactory | None,
        on_restart: Callable[[], None],
    ) -> None:
        self._factories = {"reader": reader, "sender": sender}
        self._on_restart = on_restart
        self.replies = ReplyQueue()
        self._tasks: dict[str, asyncio.Task[None]] = {}
        for name, factory in self._factories.items():
            if factory is not None:
                self._tasks[name] = self._start(name, factory)

    def _start(self, name: str, factory: TaskFactory) -> asyncio.Task[None]:
        return asyncio.create_task(factory(self.replies), name=f"mqtt-command-{name}")

    def check(self) -> None:
        """Raise the MqttError that ended a task; restart a task that died otherwise."""
        for name, task in list(self._tasks.items()):
            if not task.done():
                continue
            exc = None if task.cancelled() else task.exception()
            if isinstance(exc, aiomqtt.MqttError):
                raise exc
            self._on_restart()
            log.error("MQTT command %s ended (%r); restarting it", name, exc)
            factory = self._factories[name]
            assert factory is not None
            self._tasks[name] = self._start(name, factory)

    async def stop(self) -> None:
        """Cancel both tasks and wait for them (their errors no longer matter)."""
        for task in self._tasks.values():
            task.cancel()
        for task in self._tasks.values():
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
