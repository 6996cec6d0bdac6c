"""What a point measures and what its readings mean: the enums of the profile model.

They live apart from `gateway.profiles` so that the safety rules (`gateway.profile_rules`)
can use them without importing the model that runs those rules.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["OVER_RANGE_ALARM_KINDS", "Kind", "OverRange", "Signal"]


class Kind(StrEnum):
    """What a point measures; drives units, alarm rules and dashboards."""

    GAS_LEL = "gas_lel"
    GAS_PPM = "gas_ppm"
    OXYGEN_PCT = "oxygen_pct"
    DUST_MG_M3 = "dust_mg_m3"
    LEVEL_M = "level_m"
    LEVEL_PCT = "level_pct"
    TEMPERATURE_C = "temperature_c"
    PRESSURE_KPA = "pressure_kpa"
    DIFF_PRESSURE_PA = "diff_pressure_pa"
    SPARK_COUNT = "spark_count"
    STATUS = "status"
    CURRENT_MA = "current_ma"
    FLOW_M3_H = "flow_m3_h"


class OverRange(StrEnum):
    """What a reading above the top of ``valid_range`` means."""

    ALARM = "alarm"  # above full scale is the worst case: FAULT *and* H/HH (fail-safe)
    FAULT = "fault"  # a broken or saturated sensor: FAULT only


class Signal(StrEnum):
    """What a status (bool) point signals when it is set."""

    ALARM = "alarm"  # a discrete alarm state, raised through the point's H limit (0.5)
    FAULT = "fault"  # the device's own fault: a FAULT alarm, never a concentration alarm
    MAINTENANCE = "maintenance"  # calibrating: the device's readings are not valid


# Fail-safe: a gas reading above full scale is the worst case, not a broken sensor, so it
# alarms H/HH beside its FAULT -- GB/T 50493-2019 §5.4.1 keeps faults distinct from
# concentration alarms, never hiding them. Under-range (< 3.8 mA, NAMUR NE 43) stays a
# fault. Our default for gas kinds; `over_range` in a profile overrides it.
OVER_RANGE_ALARM_KINDS = frozenset({Kind.GAS_LEL, Kind.GAS_PPM})
