"""Publish the outbox over MQTT, alarms first, and serve operator commands.

Reconnection is one supervisor loop around a reusable aiomqtt client (the pattern
aiomqtt documents), with exponential backoff. Every message is already durable in
the outbox before we try to send it; it is removed only after the publish call
returned, which for QoS 1 means after the broker's PUBACK. Fresh QoS 0 telemetry with
nothing queued before it skips the outbox (:meth:`MqttPublisher.send_fresh`): written to
the connection is where such a message would have left the outbox. Each round takes alarms
before any telemetry, so an alarm is never queued behind a telemetry backlog.
Messages from before the current connection are marked ``replayed`` so stale data
never looks fresh. The site status topic is retained, carries the counters, and the
broker publishes the last will ``offline`` there if the agent vanishes.

Commands are untrusted input: the reader hands each one to the handler and queues the
reply; no exception from one command ends it (it is counted, answered ``internal_error``
and the reader goes on), and the session restarts the reader if it dies anyway. Replies
to fresh signed commands go out before any refusal, and the handler may leave a refusal
unanswered (rate limit), so a flood of garbage never delays an operator's ack. A reply
topic is built only from a ``request_id`` that matches the contract's strict pattern.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import ssl
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import urlparse

import aiomqtt
from paho.mqtt.client import MQTT_ERR_SUCCESS

from gateway.contracts.topics import command_filter, manifest_topic, reply_topic, status_topic
from gateway.errors import UsageError
from gateway.mqtt.commandio import CommandTasks, ReplyQueue, topic_level
from gateway.mqtt.logfilter import RepeatSummary
from gateway.mqtt.qos0 import queue_qos0, unwritten
from gateway.outbox import Lane, Outbox, OutboxError, OutboxMessage, mark_replayed
from gateway.timeutil import rfc3339

__all__ = ["CommandHandler", "MqttPublisher", "MqttSettings", "PublisherStats"]

log = logging.getLogger(__name__)

#: ``handler(action, payload)`` returns the reply, or None to leave the command unanswered.
CommandHandler = Callable[[str, bytes], dict[str, Any] | None]
BATCH = 64  # alarms per round
TELEMETRY_BATCH = 16  # small, so a new alarm waits at most a short round of telemetry
STATUS_EVERY_S = 10.0
#: aiomqtt's and paho's log, with repeats of one message summarised (aiomqtt warns about
#: "pending publish calls" on every publish of a backlog drain).
MQTT_LOG = logging.getLogger("gateway.mqtt.client")
MQTT_LOG.addFilter(RepeatSummary())


@dataclass(frozen=True)
class MqttSettings:
    """Where and how to connect; secrets come from the environment or files."""

    host: str = "127.0.0.1"
    port: int = 1883
    username: str | None = None
    password: str | None = field(default=None, repr=False)  # never in a logged repr
    client_id: str = ""
    telemetry_qos: int = 0
    keepalive: int = 30
    ca_file: str | None = None
    tls: bool = False  # set by mqtts:// URLs; verifies against the system CAs without ca_file
    cert_file: str | None = None
    key_file: str | None = None
    protocol: str = "auto"  # "auto" tries MQTT 5, then 3.1.1; or "5" / "3.1.1"

    @classmethod
    def from_url(cls, url: str, **overrides: Any) -> MqttSettings:
        """Parse ``mqtt://[user[:password]@]host[:port]`` (``mqtts://`` for TLS, port 8883)."""
        parsed = urlparse(url)
        if parsed.scheme not in ("mqtt", "tcp", "mqtts", "ssl") or not parsed.hostname:
            msg = f"MQTT URL {url!r} must look like mqtt://host:1883 or mqtts://host:8883"
            raise UsageError(msg)
        tls = parsed.scheme in ("mqtts", "ssl")
        values: dict[str, Any] = {
            "host": parsed.hostname,
            "port": parsed.port or (8883 if tls else 1883),
            "tls": tls,
            "username": parsed.username,
            "password": parsed.password,
        }
        values.update(overrides)
        return cls(**values)

    def tls_context(self) -> ssl.SSLContext | None:
        """A verifying TLS context (``ca_file``, else the system CAs for mqtts://), or None."""
        if self.ca_file is None and not self.tls:
            return None
        context = ssl.create_default_context(cafile=self.ca_file)
        if self.cert_file:
            context.load_cert_chain(self.cert_file, self.key_file)
        return context


@dataclass
class PublisherStats:
    """Counters for the console and the status topic."""

    connected: bool = False
    reconnects: int = 0
    alarms_sent: int = 0
    telemetry_sent: int = 0
    telemetry_direct: int = 0  # of telemetry_sent: written without a trip through the outbox
    replayed: int = 0
    commands: int = 0
    commands_unanswered: int = 0  # refusals left unanswered (rate limit, full backlog)
    command_errors: int = 0  # commands whose handling or reply failed; the reader went on
    reader_restarts: int = 0
    session_errors: int = 0  # sessions ended by an unexpected error (a bug), then restarted
    protocol: str = ""
    last_error: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


class MqttPublisher:
    """Drains an Outbox to the broker; answers commands through ``commands``."""

    def __init__(
        self,
        enterprise: str,
        site: str,
        settings: MqttSettings,
        outbox: Outbox,
        *,
        commands: CommandHandler | None = None,
        status_extra: Callable[[], dict[str, Any]] | None = None,
        manifest: bytes | None = None,
    ) -> None:
        self.enterprise = enterprise
        self.site = site
        self.settings = settings
        self.outbox = outbox
        self.stats = PublisherStats()
        self._commands = commands
        self._status_extra = status_extra
        self._manifest = manifest  # retained; published at every connect
        self._wake = asyncio.Event()
        self._status_topic = status_topic(enterprise, site)
        self._v5 = settings.protocol != "3.1.1"
        self._known_protocol = settings.protocol != "auto"
        self._connection: aiomqtt.Client | None = None  # while the send loop runs

    def notify(self) -> None:
        """Something was put in the outbox: wake the sender."""
        self._wake.set()

    def send_fresh(self, messages: list[tuple[str, bytes]]) -> bool:
        """Write fresh QoS 0 telemetry straight to the connection when nothing waits.

        True: the messages are queued on the connection as one write, made in this or the
        next loop turn. An outbox message at QoS 0 is done at the same point (written), so
        storing and deleting it first bought nothing but two transactions a batch (half the
        edge's CPU on a 200-device site, bench/pipeline.py). False, and the caller stores
        them in the outbox, when the order or the durability of the outbox is at stake: no
        connection; anything queued (alarms, older telemetry, a batch in flight: they go
        first); or bytes of an earlier write still unsent (a slow broker: the backlog then
        builds on disk, not in memory, and a killed agent loses at most one batch).
        """
        client = self._connection
        if client is None or not self.outbox.is_empty() or unwritten(client._client):
            return False
        try:
            if queue_qos0(client._client, messages) != MQTT_ERR_SUCCESS:
                return False
        except (ValueError, OSError):  # a packet over MQTT's limit, a socket gone bad
            log.debug("Fresh telemetry refused by the connection; storing it", exc_info=True)
            return False
        self.stats.telemetry_sent += len(messages)
        self.stats.telemetry_direct += len(messages)
        return True

    async def run(self, stop: asyncio.Event) -> None:
        """Connect, publish, reconnect with backoff, until ``stop`` is set."""
        watcher = asyncio.create_task(self._wake_on(stop), name="publisher stop watch")
        try:
            await self._run(stop)
        finally:
            watcher.cancel()

    async def _wake_on(self, stop: asyncio.Event) -> None:
        # One task for the whole run, so an idle sender waits on one event without the
        # three tasks a wait on "either event" made each time (several times a tick).
        await stop.wait()
        self._wake.set()

    async def _run(self, stop: asyncio.Event) -> None:
        delay = 0.5
        while not stop.is_set():
            try:
                await self._session(stop)
                delay = 0.5
                continue
            except (aiomqtt.MqttError, OutboxError) as exc:
                # An outbox that fails (disk error, locked file) is retried like a lost
                # broker: the publisher must outlive both, or nothing is ever sent again.
                self._lost(exc)
                if isinstance(exc, aiomqtt.MqttError) and self._try_other_protocol():
                    continue
                log.warning(
                    "MQTT %s:%s: %s; retrying in %.1f s",
                    self.settings.host,
                    self.settings.port,
                    exc,
                    delay,
                )
            except Exception as exc:  # a bug must not end publishing: alarms would stop
                self._lost(exc)
                self.stats.session_errors += 1
                first = self.stats.session_errors == 1
                log.log(
                    logging.ERROR if first else logging.DEBUG,
                    "MQTT session failed unexpectedly (%r); restarting it in %.1f s",
                    exc,
                    delay,
                    exc_info=first,
                )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=delay)
            delay = min(delay * 2, 15.0)

    def _lost(self, exc: Exception) -> None:
        if self.stats.connected:
            self.stats.reconnects += 1
        self.stats.connected = False
        self.stats.last_error = str(exc)

    def _try_other_protocol(self) -> bool:
        # "auto" has not found the broker's version yet: after MQTT 5 fails, try 3.1.1 at
        # once (a 3.1.1-only broker may refuse or just never answer an MQTT 5 CONNECT).
        if self.settings.protocol != "auto" or self._known_protocol:
            return False
        self._v5 = not self._v5
        return self._v5 is False

    def _client(self) -> aiomqtt.Client:
        s = self.settings
        v5 = self._v5
        will = aiomqtt.Will(self._status_topic, self._status_payload("offline"), qos=1, retain=True)
        return aiomqtt.Client(
            s.host,
            s.port,
            username=s.username,
            password=s.password,
            identifier=s.client_id or None,
            keepalive=s.keepalive,
            will=will,
            tls_context=s.tls_context(),
            protocol=aiomqtt.ProtocolVersion.V5 if v5 else aiomqtt.ProtocolVersion.V311,
            clean_session=None if v5 else True,
            timeout=5.0,
            logger=MQTT_LOG,
        )

    async def _session(self, stop: asyncio.Event) -> None:
        async with self._client() as client:
            self._known_protocol = True
            self.stats.connected = True
            self.stats.protocol = "5" if self._v5 else "3.1.1"
            self.outbox.begin_session()
            # A backlog drain keeps BATCH publishes in flight on purpose: not a warning.
            client.pending_calls_threshold = 2 * BATCH
            await self._publish_status(client, "online")
            if self._manifest is not None:
                topic = manifest_topic(self.enterprise, self.site)
                await client.publish(topic, self._manifest, qos=1, retain=True)
            readers = self._command_tasks(client)
            self._connection = client
            try:
                await self._send_loop(client, stop, readers)
                # No fresh telemetry may slip in while the offline status goes out...
                self._connection = None
                await self._publish_status(client, "offline")
            finally:
                self._connection = None  # ...nor after the send loop failed
                await readers.stop()

    async def _send_loop(
        self, client: aiomqtt.Client, stop: asyncio.Event, readers: CommandTasks
    ) -> None:
        next_status = time.monotonic() + STATUS_EVERY_S
        while not stop.is_set():
            readers.check()
            self._wake.clear()
            sent = await self._send_batch(client)
            if time.monotonic() >= next_status:
                await self._publish_status(client, "online")
                next_status = time.monotonic() + STATUS_EVERY_S
            if not sent:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(1.0):
                        await self._wake.wait()  # set by notify() and by stop

    async def _send_batch(self, client: aiomqtt.Client) -> int:
        batch = self.outbox.peek(BATCH)
        if batch and batch[0].lane is not Lane.ALARM:
            batch = batch[:TELEMETRY_BATCH]
        if not batch:
            return 0
        self.outbox.mark_attempt([m.id for m in batch])
        # Publishing in order on one connection keeps per-topic (per-point) order;
        # awaiting them together pipelines the PUBACKs instead of one round trip each.
        if all(m.qos == 0 for m in batch):
            await self._publish_unacknowledged(client, batch)
        else:
            await asyncio.gather(*(self._publish(client, m) for m in batch))
        self.outbox.ack([m.id for m in batch])
        for message in batch:
            if message.lane is Lane.ALARM:
                self.stats.alarms_sent += 1
            else:
                self.stats.telemetry_sent += 1
        return len(batch)

    async def _publish(self, client: aiomqtt.Client, message: OutboxMessage) -> None:
        await client.publish(message.topic, self._payload(message), qos=message.qos)

    async def _publish_unacknowledged(
        self, client: aiomqtt.Client, batch: list[OutboxMessage]
    ) -> None:
        """QoS 0 messages (telemetry): done once written, and one connection writes in order.

        So all but the last go to paho's queue as one write (`gateway.mqtt.qos0`) and only
        the last is awaited: per message, aiomqtt would make a task, an event and a future,
        and paho a wake-up, a callback and a ``send`` (a fifth of the edge's CPU on wide
        sites, bench/pipeline.py). A refused write raises like aiomqtt does.
        """
        rc = queue_qos0(client._client, ((m.topic, self._payload(m)) for m in batch[:-1]))
        if rc != MQTT_ERR_SUCCESS:
            raise aiomqtt.MqttCodeError(rc, "Could not publish message")
        await self._publish(client, batch[-1])

    def _payload(self, message: OutboxMessage) -> bytes:
        if not self.outbox.is_replay(message):
            return message.payload
        self.stats.replayed += 1
        return mark_replayed(message.payload)

    def _command_tasks(self, client: aiomqtt.Client) -> CommandTasks:
        if self._commands is None:
            return CommandTasks(None, None, self._task_restarted)
        return CommandTasks(
            lambda queue: self._serve_commands(client, queue),
            lambda queue: self._send_replies(client, queue),
            self._task_restarted,
        )

    def _task_restarted(self) -> None:
        self.stats.reader_restarts += 1

    async def _serve_commands(self, client: aiomqtt.Client, replies: ReplyQueue) -> None:
        """Read commands until the connection ends; one bad command never ends it."""
        if self._commands is None:
            return
        await client.subscribe(command_filter(self.enterprise, self.site), qos=1)
        async for message in client.messages:
            self.stats.commands += 1
            try:
                action = message.topic.value.rsplit("/", 1)[-1]
                payload = message.payload
                raw = payload if isinstance(payload, bytes) else str(payload).encode()
                reply = self._reply(action, raw)
            except Exception:  # the reader must outlive any one message
                self._command_failed("reading a command")
                continue
            if reply is None or not replies.put(reply):
                self.stats.commands_unanswered += 1

    async def _send_replies(self, client: aiomqtt.Client, replies: ReplyQueue) -> None:
        """Publish queued replies, trusted first; only a lost connection ends this."""
        while True:
            reply = await replies.get()
            try:
                level = topic_level(reply.get("request_id"))
                body = json.dumps(reply, ensure_ascii=True, default=str).encode()
                await client.publish(reply_topic(self.enterprise, self.site, level), body, qos=1)
            except aiomqtt.MqttError:
                raise
            except Exception:
                self._command_failed("publishing a reply")

    def _command_failed(self, what: str) -> None:
        self.stats.command_errors += 1
        first = self.stats.command_errors == 1
        log.log(
            logging.ERROR if first else logging.DEBUG,
            "Command failed while %s",
            what,
            exc_info=first,
        )

    def _reply(self, action: str, payload: bytes) -> dict[str, Any] | None:
        # A handler that raises would end this reader: commands would go unanswered, and
        # the error would surface when the session closes and stop the publisher for good.
        assert self._commands is not None
        try:
            return self._commands(action, payload)
        except Exception as exc:
            log.exception("Command %r failed in its handler", action[:64])
            error = {"code": "internal_error", "message": type(exc).__name__}
            return {"request_id": None, "ok": False, "error": error}

    async def _publish_status(self, client: aiomqtt.Client, state: str) -> None:
        await client.publish(self._status_topic, self._status_payload(state), qos=1, retain=True)

    def _status_payload(self, state: str) -> bytes:
        outbox = self.outbox.stats()
        body: dict[str, Any] = {
            "state": state,
            "ts": rfc3339(time.time()),
            "site": self.site,
            "outbox": asdict(outbox),
            "mqtt": {k: v for k, v in asdict(self.stats).items() if k != "extra"},
        }
        if self._status_extra is not None:
            body.update(self._status_extra())
        return json.dumps(body).encode()
