"""Alarm lifecycle (ISA-18.2 / IEC 62682) for every (device, point, kind) of a site.

States and the events each transition publishes::

    NORMAL ──condition──► UNACK ──ack──► ACKED ──clears──► NORMAL
                            │                                 ▲
                            └──clears──► RTN_UNACK ──ack──────┘
                                           └──condition──► UNACK (a new activation)
    any ──shelve(until)──► SHELVED ──unshelve/expiry──► UNACK (condition) | NORMAL
    any ──out_of_service──► OUT_OF_SERVICE ──return_to_service──► UNACK | NORMAL

    latched (ISA-18.2): ACKED ──returns to normal──► ACKED (held by the detector)
                              ──reset──► NORMAL (the clear carries who reset it)

Rules from GB/T 50493 and safety practice:
- an acknowledgement names the activation it acknowledges (optional but checked): a
  new activation since is never masked by an acknowledgement of the old one;
- alarms raised in the same poll are published second level first, toxic before
  combustible at the same level; the first activation while the site had no active
  alarm is marked ``first_out``;
- fault alarms (FAULT, COMM) keep their own kinds and are never shown as concentration
  alarms; transitions of one alarm in one poll keep the detector's order, so a fault
  that changes type (NaN -> out of range: clear then raise) stays active;
- a latched alarm is released only by a reset after it returned to normal (ISA-18.2);
  an acknowledgement given while the condition is on does not release it;
- a disposition (闭环) is accepted only once the activation is acknowledged or cleared;
  every activation gets a responsible person and a deadline, and one past its deadline
  without a disposition is overdue (`overdue`, `disposition_counts`);
- every transition is journaled with who and why before it is published.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Iterable
from dataclasses import replace
from typing import NamedTuple

from gateway.alarms.journal import AlarmJournal, JournalError, StoredAlarm
from gateway.alarms.model import (
    DEVICE_POINT,
    Alarm,
    AlarmKey,
    CommandError,
    DispositionPolicy,
    IsaState,
    Transition,
    hazard_rank,
)
from gateway.config import Site
from gateway.contracts.alarm import AlarmEvent, AlarmKind, AlarmState, level_of, rfc3339

__all__ = [
    "Acknowledgement",
    "Alarm",
    "AlarmKey",
    "AlarmManager",
    "CommandError",
    "DispositionPolicy",
    "IsaState",
]

log = logging.getLogger(__name__)

MAX_SHELVE_S = 4 * 3600.0
RESTORE_SETTLE_SAMPLES = 3


class Acknowledgement(NamedTuple):
    """What an acknowledgement did (``event``) and which latch it asks to release."""

    event: AlarmEvent
    release: AlarmKey | None


class AlarmManager:
    """Owns every alarm of a site; publishes each event through ``publish``."""

    def __init__(
        self,
        site: Site,
        journal: AlarmJournal,
        publish: Callable[[AlarmEvent], None],
        *,
        clock: Callable[[], float] = time.time,
        max_shelve_s: float = MAX_SHELVE_S,
        on_reset: Callable[[AlarmKey], bool | None] | None = None,
        disposition: DispositionPolicy | None = None,
    ) -> None:
        """``on_reset(key)`` asks the detector to reset a latch (the reset command needs
        its answer at once): False when the detector refused (condition still on), None
        when it cannot tell. An acknowledgement instead *returns* what to release
        (:class:`Acknowledgement`), and the caller hands that to the detector.
        ``disposition``: the responsible person and deadline (site config).
        """
        self.site = site
        self.journal = journal
        self._publish = publish
        self._clock = clock
        self.max_shelve_s = max_shelve_s
        self._on_reset = on_reset
        self.disposition = disposition or DispositionPolicy()
        # resets accepted, clear not seen yet: (by, note, when); the detector clears a reset
        # latch at its next good sample, so a reset older than two polls was refused
        self._resets: dict[AlarmKey, tuple[str, str, float]] = {}
        self._seq = journal.next_seq()
        self._points = {(d.name, p.key): p for d in site.devices for p in d.points}
        self._devices = {d.name for d in site.devices}
        self._poll_s = {d.name: d.config.poll_interval_s for d in site.devices}
        self.alarms: dict[AlarmKey, Alarm] = {}
        self.journal_failures = 0
        self._restore(journal.alarms())

    # -- detector side -------------------------------------------------------------

    def on_transitions(self, transitions: Iterable[Transition]) -> None:
        """Apply one poll's transitions: activations by priority first, then clears.

        Transitions of one alarm keep the detector's order and all sort where the last
        one belongs: a FAULT code change (clear old code, raise new code at one sample)
        is applied clear-then-raise and leaves the alarm active.
        """
        batch = list(transitions)
        last = {_key(t): t for t in batch}
        order = sorted(
            range(len(batch)),
            key=lambda j: (self._priority(last[_key(batch[j])]), j),
        )
        batch = [batch[j] for j in order]
        first_out_free = not any(a.annunciated and a.condition for a in self.alarms.values())
        for transition in batch:
            key = AlarmKey(transition.device, transition.point, transition.kind)
            if transition.active:
                raised = self._condition_on(key, transition, first_out_free)
                first_out_free = first_out_free and not raised
            else:
                self._condition_off(key, transition)

    def observe(self, device: str, good_points: Iterable[str], ts: float) -> None:
        """A good sample of ``good_points``: confirm or clear alarms restored after restart."""
        good = set(good_points)
        if good:
            good.add(DEVICE_POINT)  # the device answered: its comm alarm can settle too
        for key, alarm in list(self.alarms.items()):
            if alarm.unconfirmed < 0 or key.device != device or key.point not in good:
                continue
            if alarm.unconfirmed + 1 < self._settle_samples(key):
                self.alarms[key] = replace(alarm, unconfirmed=alarm.unconfirmed + 1)
                continue
            self.alarms[key] = replace(alarm, unconfirmed=-1)
            transition = Transition(
                device, key.point, key.kind, False, float("nan"), float("nan"), ts
            )
            self._condition_off(key, transition, note="condition not present after restart")

    def _settle_samples(self, key: AlarmKey) -> int:
        """Good samples without the condition before a restored alarm is cleared.

        The detector needs ``on_delay_s`` to raise a standing condition again; clearing
        sooner would clear and re-raise an alarm that never went away.
        """
        point = self._points.get((key.device, key.point))
        poll_s = self._poll_s.get(key.device, 1.0)
        on_delay = point.alarms.on_delay_s if point is not None and point.alarms else 0.0
        return RESTORE_SETTLE_SAMPLES + math.ceil(on_delay / poll_s)

    def expire_shelves(self) -> None:
        """Return shelved alarms whose time is up (ISA-18.2 MaxTimeShelved)."""
        now = self._clock()
        for alarm in list(self.alarms.values()):
            if alarm.state is IsaState.SHELVED and (alarm.shelved_until or 0) <= now:
                self._return(alarm, "system", "shelve expired", AlarmState.UNSHELVED)

    # -- operator side ---------------------------------------------------------------

    def acknowledge(
        self, key: AlarmKey, by: str, note: str = "", activation_id: str | None = None
    ) -> Acknowledgement:
        """Acknowledge the current activation of ``key``: the event, and what to release.

        ``release`` is the key whose detector latch the acknowledgement asks to reset
        (ISA-18.2: a latch releases only once back to normal; the detector refuses
        otherwise), or None when the point does not latch.
        """
        alarm = self._existing(key)
        if alarm.state not in (IsaState.UNACK, IsaState.RTN_UNACK):
            msg = f"{key} is {alarm.state.value}: nothing to acknowledge"
            raise CommandError("invalid_state", msg)
        if activation_id is not None and activation_id != alarm.activation_id:
            msg = (
                f"{key} was activated again since {activation_id} (current activation "
                f"{alarm.activation_id}): acknowledge the current one"
            )
            raise CommandError("stale_activation", msg)
        state = IsaState.ACKED if alarm.state is IsaState.UNACK else IsaState.NORMAL
        updated = replace(alarm, state=state)
        event = self._emit(updated, AlarmState.ACKNOWLEDGED, by=by, note=note)
        return Acknowledgement(event, key if self._latches(key) else None)

    def reset(self, key: AlarmKey, by: str, note: str = "") -> None:
        """Reset a latched alarm that has returned to normal (ISA-18.2 latch).

        The detector clears it at its next good sample, and that clear event names who
        reset it.  Refused while the condition is still on: a latch resets only after
        return to normal.
        """
        alarm = self._existing(key)
        if not self._latches(key):
            raise CommandError("invalid_state", f"{key} is not a latched alarm")
        if not alarm.condition or alarm.state not in (IsaState.UNACK, IsaState.ACKED):
            raise CommandError("invalid_state", f"{key} is {alarm.state.value}: nothing to reset")
        released = self._on_reset(key) if self._on_reset is not None else None
        if released is False:
            msg = f"{key} is still beyond its limit: a latched alarm resets after return to normal"
            raise CommandError("invalid_state", msg)
        self._resets[key] = (by, note, self._clock())

    def _latches(self, key: AlarmKey) -> bool:
        point = self._points.get((key.device, key.point))
        return point is not None and point.alarms is not None and bool(point.alarms.latch)

    def shelve(self, key: AlarmKey, by: str, note: str, duration_s: float) -> AlarmEvent:
        """Shelve ``key`` for at most ``max_shelve_s``; it returns by itself."""
        if not 0 < duration_s <= self.max_shelve_s:
            msg = f"shelve duration must be in (0, {self.max_shelve_s:g}] s, got {duration_s:g}"
            raise CommandError("invalid_argument", msg)
        if not note.strip():
            raise CommandError("invalid_argument", "shelving needs a note saying why")
        alarm = self._existing(key)
        if alarm.state is IsaState.OUT_OF_SERVICE:
            raise CommandError("invalid_state", f"{key} is out of service")
        until = self._clock() + duration_s
        updated = replace(alarm, state=IsaState.SHELVED, shelved_until=until)
        return self._emit(
            updated, AlarmState.SHELVED, by=by, note=f"{note} (until {rfc3339(until)})"
        )

    def unshelve(self, key: AlarmKey, by: str, note: str = "") -> AlarmEvent:
        """End a shelve early; an active condition is annunciated again."""
        alarm = self._existing(key)
        if alarm.state is not IsaState.SHELVED:
            raise CommandError("invalid_state", f"{key} is not shelved")
        return self._return(alarm, by, note, AlarmState.UNSHELVED)

    def remove_from_service(self, key: AlarmKey, by: str, note: str) -> AlarmEvent:
        """Take ``key`` out of service (maintenance); needs a note."""
        if not note.strip():
            raise CommandError("invalid_argument", "out of service needs a note saying why")
        alarm = self._existing(key)
        updated = replace(alarm, state=IsaState.OUT_OF_SERVICE, shelved_until=None)
        return self._emit(updated, AlarmState.OUT_OF_SERVICE, by=by, note=note)

    def return_to_service(self, key: AlarmKey, by: str, note: str = "") -> AlarmEvent:
        """Put ``key`` back in service."""
        alarm = self._existing(key)
        if alarm.state is not IsaState.OUT_OF_SERVICE:
            raise CommandError("invalid_state", f"{key} is not out of service")
        return self._return(alarm, by, note, AlarmState.IN_SERVICE)

    def record_disposition(
        self, activation_id: str, cause: str, action: str, by: str
    ) -> AlarmEvent:
        """Close the loop (闭环) on an activation: its cause and the action taken.

        Accepted only once the activation is acknowledged or cleared: a disposition of
        an alarm nobody has looked at yet would close what is not closed.  The event
        notes the responsible person, the deadline and whether it came late.
        """
        if not cause.strip() or not action.strip():
            raise CommandError("invalid_argument", "a disposition needs both cause and action")
        stored = next((a for a in self.alarms.values() if a.activation_id == activation_id), None)
        if not self.journal.activation_exists(activation_id):
            raise CommandError("not_found", f"no alarm activation {activation_id}")
        if stored is not None and stored.state is IsaState.UNACK:
            msg = f"activation {activation_id} of {stored.key} is not acknowledged yet"
            raise CommandError("invalid_state", msg)
        now = self._clock()
        due = self.journal.due(activation_id)
        if not self.journal.add_disposition(activation_id, cause, action, by, rfc3339(now)):
            raise CommandError("duplicate", f"activation {activation_id} already has a disposition")
        row = self.journal.event(activation_id)
        assert row is not None  # activation_exists said so
        key = AlarmKey(str(row["device"]), str(row["point"]), AlarmKind(str(row["kind"])))
        alarm = stored or self.alarms.get(key) or Alarm(key)
        note = None
        if due is not None:
            responsible, deadline = due
            late = " (overdue)" if now > deadline else ""
            note = f"responsible {responsible or 'unassigned'}, due {rfc3339(deadline)}{late}"
        return self._emit(
            alarm,
            AlarmState.DISPOSITION,
            by=by,
            cause=cause,
            action=action,
            note=note,
            save=False,
            activation_id=activation_id,
        )

    def overdue(self) -> list[dict[str, object]]:
        """Activations past their deadline without a disposition, oldest first."""
        return self.journal.overdue(self._clock())

    def disposition_counts(self) -> dict[str, int]:
        """Status counters: activations without a disposition, and how many are overdue."""
        return {
            "open": self.journal.open_dispositions(),
            "overdue": len(self.overdue()),
        }

    # -- internals ---------------------------------------------------------------------

    def _priority(self, t: Transition) -> tuple[int, int, int, str, str]:
        point = self._points.get((t.device, t.point))
        rank = hazard_rank(point.kind) if point is not None else 3
        return (0 if t.active else 1, -level_of(t.kind), rank, t.device, t.point)

    def _condition_on(self, key: AlarmKey, t: Transition, first_out_free: bool) -> bool:
        alarm = self.alarms.get(key, Alarm(key))
        if alarm.state in (IsaState.UNACK, IsaState.ACKED) and alarm.condition:
            self.alarms[key] = replace(alarm, unconfirmed=-1)  # restored and seen again
            return False
        if alarm.state in (IsaState.SHELVED, IsaState.OUT_OF_SERVICE):
            # recorded, not annunciated; seen again, so a condition restored after a
            # restart is confirmed (else observe() would clear it under the shelve)
            self._save(replace(alarm, condition=True, unconfirmed=-1))
            return False
        updated = replace(alarm, state=IsaState.UNACK, condition=True, unconfirmed=-1)
        self._emit(
            updated,
            AlarmState.ACTIVE,
            value=t.value,
            limit=t.limit,
            ts=t.ts,
            first_out=first_out_free,
            new_activation=True,
        )
        return True

    def _condition_off(self, key: AlarmKey, t: Transition, note: str | None = None) -> None:
        alarm = self.alarms.get(key)
        if alarm is None or not alarm.condition:
            return
        if alarm.state in (IsaState.SHELVED, IsaState.OUT_OF_SERVICE):
            self._save(replace(alarm, condition=False))
            return
        state = IsaState.NORMAL if alarm.state is IsaState.ACKED else IsaState.RTN_UNACK
        updated = replace(alarm, state=state, condition=False, unconfirmed=-1)
        by = None
        reset = self._resets.pop(key, None)
        if reset is not None and t.ts - reset[2] <= 2 * self._poll_s.get(key.device, 1.0) + 1.0:
            by = reset[0]  # a latched alarm: the clear says who reset it
            note = f"reset: {reset[1]}" if reset[1] else "reset"
        self._emit(
            updated, AlarmState.CLEARED, value=t.value, limit=t.limit, ts=t.ts, note=note, by=by
        )

    def _return(self, alarm: Alarm, by: str, note: str, state: AlarmState) -> AlarmEvent:
        back = replace(alarm, state=IsaState.NORMAL, shelved_until=None)
        event = self._emit(back, state, by=by, note=note)
        if alarm.condition:  # still beyond its limit: annunciate it as a new activation
            raised = replace(back, state=IsaState.UNACK)
            return self._emit(
                raised, AlarmState.ACTIVE, new_activation=True, note="returned while active"
            )
        return event

    def _existing(self, key: AlarmKey) -> Alarm:
        device_wide = key.point == DEVICE_POINT and key.device in self._devices
        if (key.device, key.point) not in self._points and not device_wide:
            raise CommandError("not_found", f"no point {key.device}/{key.point} in this site")
        return self.alarms.get(key, Alarm(key))

    def _emit(
        self,
        alarm: Alarm,
        state: AlarmState,
        *,
        value: float | None = None,
        limit: float | None = None,
        ts: float | None = None,
        new_activation: bool = False,
        save: bool = True,
        **extra: object,
    ) -> AlarmEvent:
        point = self._points.get((alarm.key.device, alarm.key.point))
        unit = point.unit if point is not None else ""
        if alarm.key.kind is AlarmKind.ROC:
            unit = f"{unit}/s"  # a ROC event's value and limit are rates
        event = AlarmEvent.create(
            seq=self._seq,
            enterprise=self.site.enterprise,
            site=self.site.site,
            device=alarm.key.device,
            point=alarm.key.point,
            kind=alarm.key.kind,
            state=state,
            value=value,
            limit=limit,
            unit=unit,
            ts=ts if ts is not None else self._clock(),
            isa_state=alarm.state.value,
            **{k: v for k, v in extra.items() if v is not None and k != "activation_id"},
        )
        activation = (
            event.event_id if new_activation else extra.get("activation_id", alarm.activation_id)
        )
        event = replace(event, activation_id=str(activation) if activation else None)
        if new_activation:
            alarm = replace(alarm, activation_id=event.event_id)
        self._seq += 1
        if save:
            self.alarms[alarm.key] = alarm
        try:
            due = None
            if new_activation:
                policy = self.disposition
                due = (policy.responsible_for(event.device), event.epoch + policy.deadline_s)
            self.journal.record(event, self._stored(alarm) if save else None, due)
        except JournalError:
            # The record is incomplete, but the alarm must still reach the operators.
            log.critical(
                "Alarm journal write failed; publishing %s anyway", event.event_id, exc_info=True
            )
            self.journal_failures += 1
        self._publish(event)
        return event

    def _save(self, alarm: Alarm) -> None:
        self.alarms[alarm.key] = alarm
        try:
            self.journal.save_alarm(self._stored(alarm))
        except JournalError:
            # Raising here would drop the rest of the poll's transitions, which the
            # detector never reports again; the state is kept in memory meanwhile.
            log.critical("Alarm journal write failed; %s kept in memory", alarm.key, exc_info=True)
            self.journal_failures += 1

    @staticmethod
    def _stored(alarm: Alarm) -> StoredAlarm:
        key = alarm.key
        return StoredAlarm(
            key.device,
            key.point,
            key.kind.value,
            alarm.state.value,
            alarm.condition,
            alarm.activation_id,
            alarm.shelved_until,
        )

    def _restore(self, stored: list[StoredAlarm]) -> None:
        for row in stored:
            key = AlarmKey(row.device, row.point, AlarmKind(row.kind))
            alarm = Alarm(
                key,
                IsaState(row.state),
                row.condition,
                row.activation_id,
                row.shelved_until,
                unconfirmed=0 if row.condition else -1,
            )
            self.alarms[key] = alarm
        if stored:
            active = sum(1 for a in self.alarms.values() if a.annunciated)
            log.warning("Restored %d alarms from the journal (%d annunciated)", len(stored), active)


def _key(t: Transition) -> AlarmKey:
    return AlarmKey(t.device, t.point, t.kind)
