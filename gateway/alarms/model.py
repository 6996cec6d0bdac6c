"""The alarm model: transitions in, ISA-18.2 states, the key of an alarm, command errors.

:class:`Transition` is what detection hands the lifecycle: it lives here, in the lowest
part that needs it, so the lifecycle never imports the poller's package.
"""

from __future__ import annotations

from dataclasses import dataclass

from gateway.contracts.alarm import AlarmKind, IsaState
from gateway.errors import GatewayError
from gateway.profiles import Kind

__all__ = [
    "DEVICE_POINT",
    "Alarm",
    "AlarmKey",
    "CommandError",
    "DispositionPolicy",
    "IsaState",
    "Transition",
    "hazard_rank",
]

DEVICE_POINT = "_device"  # alarm "point" of device-wide conditions (cannot clash: keys start a-z)


@dataclass(frozen=True)
class Transition:
    """An alarm condition of one point became active or inactive at ``ts``."""

    device: str
    point: str
    kind: AlarmKind
    active: bool
    value: float
    limit: float
    ts: float


class CommandError(GatewayError):
    """An operator command was refused; ``code`` is machine-readable."""

    def __init__(self, code: str, message: str) -> None:
        self.code = code
        super().__init__(message)


@dataclass(frozen=True)
class DispositionPolicy:
    """Who must close the loop (闭环) on an activation, and by when.

    Dust-explosion monitoring practice sets feedback and disposition time limits per
    site by risk (DOMAIN.md §3.4, Suzhou; Dongyang escalates what is not handled in
    time); no national figure exists, so the default is one day.  ``responsible`` names
    the safety officer (or role) per device, with ``default`` for the others.
    """

    deadline_s: float = 24 * 3600.0
    default: str = ""
    responsible: tuple[tuple[str, str], ...] = ()  # (device, person)

    def __post_init__(self) -> None:
        if not self.deadline_s > 0:
            msg = f"disposition deadline_s={self.deadline_s!r} must be > 0"
            raise ValueError(msg)

    def responsible_for(self, device: str) -> str:
        """The person responsible for the activations of ``device``."""
        return dict(self.responsible).get(device, self.default)


@dataclass(frozen=True)
class AlarmKey:
    """Identifies one alarm: a kind of condition on one point of one device."""

    device: str
    point: str
    kind: AlarmKind

    def __str__(self) -> str:
        return f"{self.device}/{self.point}/{self.kind.value}"


@dataclass(frozen=True)
class Alarm:
    """The lifecycle state of one alarm."""

    key: AlarmKey
    state: IsaState = IsaState.NORMAL
    condition: bool = False
    activation_id: str | None = None
    shelved_until: float | None = None
    unconfirmed: int = -1  # >= 0: restored active after a restart, not yet seen again

    @property
    def annunciated(self) -> bool:
        """True while an operator must see it (active or unacknowledged)."""
        return self.state in (IsaState.UNACK, IsaState.ACKED, IsaState.RTN_UNACK)


def hazard_rank(kind: Kind) -> int:
    """GB/T 50493 priority at equal level: toxic, then combustible, then the rest."""
    return {Kind.GAS_PPM: 0, Kind.GAS_LEL: 1, Kind.OXYGEN_PCT: 2}.get(kind, 3)
