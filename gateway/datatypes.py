"""Modbus data types, their register widths and struct codes: the one table.

Everything that needs to know how wide a type is (profile validation, read
planning, decoding, the simulator's encoder) asks this table.
"""

from __future__ import annotations

from enum import StrEnum
from typing import NamedTuple

__all__ = ["TYPE_INFO", "ByteOrder", "DataType", "Table", "TypeInfo", "WordOrder"]


class DataType(StrEnum):
    """Value types a point may have on the wire."""

    INT16 = "int16"
    UINT16 = "uint16"
    INT32 = "int32"
    UINT32 = "uint32"
    FLOAT32 = "float32"
    FLOAT64 = "float64"
    BOOL = "bool"
    BITFIELD = "bitfield"


class Table(StrEnum):
    """The four Modbus data tables."""

    HOLDING = "holding"
    INPUT = "input"
    COIL = "coil"
    DISCRETE = "discrete"

    @property
    def is_bit_table(self) -> bool:
        """Coils and discrete inputs address single bits, not registers."""
        return self in (Table.COIL, Table.DISCRETE)


class ByteOrder(StrEnum):
    """Byte order inside one 16-bit register (Modbus standard: big)."""

    BIG = "big"
    LITTLE = "little"


class WordOrder(StrEnum):
    """Order of the registers of a multi-register value (big: high word first)."""

    BIG = "big"
    LITTLE = "little"


class TypeInfo(NamedTuple):
    """Width in registers and the big-endian struct code of a data type."""

    registers: int
    struct_code: str
    is_integer: bool


TYPE_INFO: dict[DataType, TypeInfo] = {
    DataType.INT16: TypeInfo(1, "h", True),
    DataType.UINT16: TypeInfo(1, "H", True),
    DataType.INT32: TypeInfo(2, "i", True),
    DataType.UINT32: TypeInfo(2, "I", True),
    DataType.FLOAT32: TypeInfo(2, "f", False),
    DataType.FLOAT64: TypeInfo(4, "d", False),
    DataType.BOOL: TypeInfo(1, "H", True),
    DataType.BITFIELD: TypeInfo(1, "H", True),
}
