"""The one exception tree of hazard-gateway.

Every error the gateway raises on purpose derives from :class:`GatewayError`;
third-party exceptions are wrapped at the boundary where they occur::

    GatewayError
    ├── UsageError           a command-line value is wrong (a URL, a port, a duration)
    ├── ConfigError          a profile or site file is wrong (carries every Problem found)
    │   ├── ProfileError     ... in a device profile
    │   └── SiteError        ... in a site file
    ├── DeviceError          a field device could not be read
    │   ├── DeviceConnectError     no connection (refused, unreachable, port missing)
    │   ├── DeviceTimeout          no answer within the timeout
    │   └── DeviceExceptionResponse the device answered with a Modbus exception code
    ├── DecodeError          registers could not be turned into a value
    ├── ContractError        an MQTT payload or topic breaks the contract (gateway.contracts)
    ├── JournalError         the alarm journal cannot be used (gateway.alarms.journal)
    ├── OutboxError          the outbox cannot be used (gateway.outbox)
    └── CommandError         an operator command was refused (gateway.alarms.lifecycle)
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "ConfigError",
    "ContractError",
    "DecodeError",
    "DeviceConnectError",
    "DeviceError",
    "DeviceExceptionResponse",
    "DeviceTimeout",
    "GatewayError",
    "Problem",
    "ProfileError",
    "SiteError",
    "UsageError",
]


class GatewayError(Exception):
    """Base of every error raised by hazard-gateway on purpose."""


class UsageError(GatewayError):
    """A value given on the command line is wrong; the message says which and why."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong in a configuration file, with where it is."""

    file: str
    line: int | None
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        field = f" {self.field}:" if self.field else ""
        return f"{where}:{field} {self.message}"


class ConfigError(GatewayError):
    """A configuration file is wrong; ``problems`` lists everything found in it."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class ProfileError(ConfigError):
    """A device profile is wrong."""


class SiteError(ConfigError):
    """A site file is wrong."""


class DeviceError(GatewayError):
    """A field device could not be read."""


class DeviceConnectError(DeviceError):
    """No connection to the device (refused, unreachable, serial port missing)."""


class DeviceTimeout(DeviceError):
    """The device did not answer within its timeout."""


class DeviceExceptionResponse(DeviceError):
    """The device answered with a Modbus exception code (e.g. 2 = illegal address)."""

    def __init__(self, code: int, what: str) -> None:
        self.code = code
        super().__init__(f"{what}: Modbus exception code {code}")


class DecodeError(GatewayError):
    """Registers could not be turned into a value."""


class ContractError(GatewayError):
    """A payload or topic from the network breaks the MQTT contract (docs/mqtt.md).

    ``what`` is the payload type, ``field`` the dotted field path ("" for the whole
    payload), ``value`` the offending value and ``rule`` the rule it broke.
    """

    def __init__(self, what: str, field: str, value: object, rule: str) -> None:
        self.what = what
        self.field = field
        self.value = value
        self.rule = rule
        shown = repr(value)
        if len(shown) > 80:
            shown = shown[:77] + "..."
        where = f" field {field!r}" if field else ""
        super().__init__(f"{what}:{where} {rule} (got {shown})")
