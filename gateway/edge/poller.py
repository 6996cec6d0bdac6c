"""Poll one device on a fixed grid, survive its failures, never queue polls.

Design choices, each from a peer's bug report:
- polls run on a fixed time grid; a poll that overruns its period skips the missed
  slots and counts them (a popular Python gateway queues them and grows without bound),
  unless it started on time and ended at most ``LATE_START`` of a period after the next
  slot: then the next poll starts at once, counted as late. At 100 Hz a stall of a few ms
  (a busy tick, a VM's stolen time) had cost a sample of every device in the tick; a
  device too slow for its period still skips every other slot and counts the overruns;
- every sample says when its poll was due (``PollSample.due``: the slot's wall-clock
  time), and the detector places it by that: a poll started late, or woken late by a busy
  VM, keeps its slot on the detector's grid. Placed by its read time, a poll read over half
  a period late re-anchored the grid and the telemetry window it left lost a sample to the
  next: at 100 Hz a few a minute (bench/README.md, "Seventh pass");
- the grid is the wall clock's, at one of a few phases: devices sharing a phase poll at
  the same instants, so one loop wake-up, one outbox transaction and one MQTT batch serve
  them all and their windows close together (bench/pipeline.py: 1.6-1.9x the points per
  CPU-second of one phase per device); the agent gives each phase at most
  ``tick_group(interval)`` devices of one poll interval, so a tick's burst cannot hold an
  alarm back for long, and never two devices of one link (a bus reads them one after the
  other anyway);
- a failed read makes the device's points bad-quality instead of raising, and the
  loop goes on (ThingsBoard gateway #2132: the task died on one exception);
- reconnect uses exponential backoff with jitter; while waiting, every slot still
  emits a COMM-quality sample so downstream sees "offline", not a frozen last value;
- the first failure logs at ERROR, repeats at DEBUG, recovery at WARNING.
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
import struct
import time
from collections.abc import Callable, Sequence
from dataclasses import replace

import numpy as np

from edge_core._clock import JITTER
from gateway.config import Device
from gateway.edge.link import ModbusLink
from gateway.edge.planner import ReadRequest, plan_reads
from gateway.edge.samples import DeviceStats, PollSample, Quality
from gateway.errors import DeviceConnectError, DeviceError, DeviceExceptionResponse

__all__ = [
    "Backoff",
    "DevicePoller",
    "SampleSink",
    "tick_group",
    "tick_phases",
    "until_next_slot",
]

log = logging.getLogger(__name__)

SampleSink = Callable[[PollSample], None]
ILLEGAL_DATA_ADDRESS = 2
# Slots keep this fraction of a period away from the wall clock's grid lines, so a poll on
# time never lands on the wrong side of a window boundary, even with the wall clock slewed
# a little by NTP against the loop's monotonic clock. (A late poll's acquisition time may:
# its window is chosen by the detector's grid time, which is its slot: PollSample.due.)
SLOT_MARGIN = 0.1
# Devices per phase. A tick's devices answer together and are handled in one burst, with
# warm caches: on this VM a poll of a 1 s device cost ~500 us of CPU with 10 a phase, ~425
# with 25 and ~380 with 50 (bench/README.md, "Fourth pass"). But an alarm waits for the
# rest of its burst: in an alarm storm on 50 devices polled every 1 s (bench/latency.py,
# the alarms of one loop turn queued together, gateway/site.py) processing p99 was 106 ms
# with 25 a phase and 221 ms with 50, over the 200 ms budget. And a fast poller's burst
# must end well within its period: at 10 ms, 21 devices in one phase overran 1,000 times a
# second (200-310 with 10 a phase). So: ``TICK_GROUP_SLOW`` a phase for devices polled
# every ``SLOW_POLL_S`` or slower, ``TICK_GROUP`` for faster ones. Groups may hold up to
# a fifth more (``TICK_SLACK``) when that saves a phase: 50 devices and a gas detector make
# two phases of 26 and 25, not 25, 25 and a lone device paying a wake-up of its own.
TICK_GROUP = 10
TICK_GROUP_SLOW = 25
SLOW_POLL_S = 0.5
TICK_SLACK = 0.2
# A poll ending this late (in periods) after the next slot starts that slot's poll late
# rather than skipping it: edge_core's JITTER, so a kept sample is read at most half a
# period after its slot (the detector places it at its slot: PollSample.due).
LATE_START = JITTER


def until_next_slot(now: float, interval: float, phase: float = 0.0) -> float:
    """Seconds from wall-clock ``now`` to the next slot of an ``interval`` grid.

    ``phase`` in [0, 1) places the slot within the period, inside the margins.
    """
    offset = SLOT_MARGIN + (1.0 - 2.0 * SLOT_MARGIN) * phase
    return (offset * interval - now) % interval


def tick_group(interval: float) -> int:
    """How many devices polled every ``interval`` seconds share one phase, at most."""
    return TICK_GROUP_SLOW if interval >= SLOW_POLL_S else TICK_GROUP


def tick_phases(devices: Sequence[tuple[str, float]]) -> list[float]:
    """The phase of each device, given (link key, poll interval).

    The devices of one interval are grouped evenly, about ``tick_group(interval)`` a
    phase (at most ``TICK_SLACK`` more; devices of other intervals tick at other instants
    anyway). Devices on one link (a
    serial bus, or units behind one TCP gateway) get different phases: their reads queue
    on the link's lock anyway, so one tick would only make the last of them wait, with its
    timestamp taken before the wait.
    """
    by_interval: dict[float, list[int]] = {}
    for i, (_, interval) in enumerate(devices):
        by_interval.setdefault(interval, []).append(i)
    phases = [0.0] * len(devices)
    for interval, members in by_interval.items():
        grouped = _grouped([devices[i][0] for i in members], tick_group(interval))
        for i, phase in zip(members, grouped, strict=True):
            phases[i] = phase
    return phases


def _grouped(links: Sequence[str], size: int) -> list[float]:
    """Phases for devices on ``links``: even groups of about ``size``, no link twice in one."""
    count = max(1, math.ceil(len(links) / math.floor(size * (1.0 + TICK_SLACK))))
    even, extra = divmod(len(links), count)
    room = [even + (g < extra) for g in range(count)]  # how many each group takes
    groups: list[list[str]] = [[] for _ in range(count)]
    placed: list[int] = []
    for link in links:
        fits = (g for g, members in enumerate(groups) if len(members) < room[g])
        free = next((g for g in fits if link not in groups[g]), len(groups))
        if free == len(groups):  # a link already in every group with room: one more group
            groups.append([])
            room.append(size)
        groups[free].append(link)
        placed.append(free)
    # No group stays empty: an empty group never holds the link, so it is taken first.
    return [g / len(groups) for g in placed]


class Backoff:
    """Exponential backoff with jitter: base, 2*base, ... up to ``cap`` seconds."""

    def __init__(self, base: float = 0.5, cap: float = 30.0, rng: random.Random | None = None):
        self.base = base
        self.cap = cap
        self.attempts = 0
        self._rng = rng or random.Random()

    def next_delay(self) -> float:
        """The delay before the next attempt; grows with each failure."""
        delay = min(self.cap, self.base * 2**self.attempts)
        self.attempts += 1
        return float(delay * (1.0 + 0.25 * self._rng.random()))

    def reset(self) -> None:
        """Forget past failures after a success."""
        self.attempts = 0


class DevicePoller:
    """Reads one device every ``poll_interval_s`` and hands each poll to ``sink``."""

    def __init__(
        self,
        device: Device,
        link: ModbusLink,
        sink: SampleSink,
        *,
        clock: Callable[[], float] = time.time,
        backoff: Backoff | None = None,
    ) -> None:
        self.device = device
        self.link = link
        self.sink = sink
        self.stats = DeviceStats()
        self._clock = clock
        self._backoff = backoff or Backoff()
        self._retry_at = 0.0
        # A tuple, replaced (never mutated) when a read is split: poll_once iterates it
        # without copying.
        self._requests: tuple[ReadRequest, ...] = tuple(plan_reads(device.profile, device.points))
        self._n = len(device.points)
        # Each sample gets fresh arrays (sinks may keep them); copying these is cheaper
        # than np.full / np.zeros.
        self._nan_values = np.full(self._n, np.nan, dtype=np.float32)
        self._good_quality = np.zeros(self._n, dtype=np.uint8)

    @property
    def requests(self) -> list[ReadRequest]:
        """The block reads this poller issues each poll."""
        return list(self._requests)

    async def run(self, stop: asyncio.Event | None = None, phase: float = 0.0) -> None:
        """Poll until ``stop`` is set (or the task is cancelled), on the ``phase`` grid."""
        loop = asyncio.get_running_loop()
        interval = self.device.config.poll_interval_s
        next_slot = loop.time() + until_next_slot(self._clock(), interval, phase)
        started_late = False
        while stop is None or not stop.is_set():
            delay = next_slot - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            self.stats.record_start(loop.time())
            await self.poll_once(slot=next_slot)
            next_slot += interval
            behind = loop.time() - next_slot
            # Late once, after a poll that started on time (a stall): keep the sample. A
            # late poll that ends late again is a device too slow for its period: skip.
            started_late = 0 < behind <= LATE_START * interval and not started_late
            if started_late:
                self.stats.late += 1
            elif behind > 0:
                missed = math.floor(behind / interval) + 1
                self.stats.overruns += missed
                next_slot += missed * interval

    async def poll_once(self, *, slot: float | None = None) -> PollSample:
        """One poll: read every planned block, decode, emit one sample.

        ``slot``: the loop time the poll was due at, if on a grid (``PollSample.due``).
        """
        self.stats.polls += 1
        if not self.link.connected and not await self._try_connect():
            now = self._clock()
            return self._emit(now, None, Quality.COMM, self._due(now, slot))
        values = self._nan_values.copy()
        quality = self._good_quality.copy()
        ts = self._clock()
        due = self._due(ts, slot)
        failed: DeviceError | None = None
        link, unit, pause_s = self.link, self.device.config.unit, self.device.request_pause_s
        for request in self._requests:
            self.stats.reads += 1
            try:  # the link's coroutine straight away: a helper per read costs every read
                payload = await link.read_raw(
                    request.table, request.address, request.count, unit, pause_s
                )
            except DeviceExceptionResponse as exc:
                failed = exc
                self._mark(quality, request, Quality.DEVICE_ERROR)
                self._maybe_split(request, exc)
                continue
            except DeviceError as exc:
                failed = exc
                quality[:] = Quality.COMM
                self._drop_connection()
                break
            decoder = request.decoder
            if len(payload) >= decoder.needed:
                decoder.decode(payload, values)
            else:
                self._decode_short(request, payload, values, quality)
        self._account(failed)
        return self._emit(ts, values, quality, due)

    @staticmethod
    def _due(ts: float, slot: float | None) -> float:
        """The wall-clock time of ``slot`` (loop time), given the poll's read time ``ts``.

        time.monotonic() rather than the loop's clock: uvloop's is milliseconds cached per
        loop turn, and this is the lateness the detector corrects for.
        """
        return math.nan if slot is None else ts - (time.monotonic() - slot)

    @staticmethod
    def _decode_short(
        request: ReadRequest, payload: bytes, values: np.ndarray, quality: np.ndarray
    ) -> None:
        # The device answered with less than the read asked for: decode what is
        # there point by point, and mark the points it left out.
        if request.table.is_bit_table:
            words: list[int] | tuple[int, ...] = list(payload)
        else:
            words = struct.unpack_from(f">{len(payload) // 2}H", payload)
        for planned in request.points:
            end = planned.offset + planned.codec.width
            if end > len(words):
                quality[planned.index] = Quality.DECODE
                continue
            try:
                values[planned.index] = planned.codec.decode(words[planned.offset : end])
            except (ValueError, IndexError, OverflowError, struct.error):
                quality[planned.index] = Quality.DECODE

    @staticmethod
    def _mark(quality: np.ndarray, request: ReadRequest, code: Quality) -> None:
        quality[request.decoder.index] = code

    def _maybe_split(self, request: ReadRequest, exc: DeviceExceptionResponse) -> None:
        # Some devices refuse reads that cover unmapped registers: stop bridging holes
        # for that block and read its points without gaps from now on.
        if exc.code != ILLEGAL_DATA_ADDRESS or not request.bridges_gap:
            return
        originals = [planned.index for planned in request.points]
        subset = [self.device.points[i] for i in originals]
        fixed = [
            ReadRequest(
                r.table,
                r.address,
                r.count,
                tuple(replace(p, index=originals[p.index]) for p in r.points),
            )
            for r in plan_reads(self.device.profile, subset, max_gap=0)
        ]
        position = self._requests.index(request)
        requests = self._requests
        self._requests = (*requests[:position], *fixed, *requests[position + 1 :])
        log.warning(
            "Device %s refused a read bridging unused registers; reading %s without gaps",
            self.device.name,
            f"{request.table} {request.address}+{request.count}",
        )

    async def _try_connect(self) -> bool:
        now = self._clock()
        if now < self._retry_at:
            return False
        try:
            await self.link.connect()
        except DeviceConnectError as exc:
            self._account(exc)
            self._retry_at = now + self._backoff.next_delay()
            return False
        if self.stats.failures:
            self.stats.reconnects += 1
        return True

    def _drop_connection(self) -> None:
        self.link.close()
        self._retry_at = self._clock() + self._backoff.next_delay()

    def _account(self, error: DeviceError | None) -> None:
        stats = self.stats
        if error is None:
            if stats.consecutive_failures:
                log.warning(
                    "Device %s answers again after %d failed polls",
                    self.device.name,
                    stats.consecutive_failures,
                )
            stats.ok += 1
            stats.consecutive_failures = 0
            stats.last_ok_ts = self._clock()
            if self._backoff.attempts:
                self._backoff.reset()
            return
        stats.failures += 1
        stats.consecutive_failures += 1
        stats.last_error = str(error)
        level = logging.ERROR if stats.consecutive_failures == 1 else logging.DEBUG
        log.log(level, "Device %s poll failed: %s", self.device.name, error)

    def _emit(
        self,
        ts: float,
        values: np.ndarray | None,
        quality: np.ndarray | Quality,
        due: float,
    ) -> PollSample:
        if values is None:
            values = np.full(self._n, np.nan, dtype=np.float32)
        if isinstance(quality, Quality):
            quality = np.full(self._n, int(quality), dtype=np.uint8)
        sample = PollSample(self.device.name, ts, values, quality, due)
        try:
            self.sink(sample)
        except Exception:  # whatever breaks downstream, this device keeps being polled
            log.exception("Handling a poll of device %s failed", self.device.name)
        return sample
