"""Where the edge process's memory goes: RSS growth per import group, in import order.

    python3 bench/_pipeline_memory.py      # prints one line per group (bench/pipeline.py runs it)

Run in a fresh interpreter so nothing is imported before it is counted. The groups follow
what `hazard-gateway edge` loads: the Python runtime, numpy, pydantic and YAML (site
files), pymodbus, paho-mqtt/aiomqtt, the gateway's own modules, then llvmlite, numba and
the detection kernels loaded from numba's cache (the kernels need the LLVM JIT even
when nothing is compiled).
"""

from __future__ import annotations

import importlib
import sys

GROUPS = (
    ("numpy", ("numpy",)),
    ("pydantic + PyYAML", ("pydantic", "yaml")),
    ("pymodbus", ("pymodbus.client",)),
    ("paho-mqtt + aiomqtt", ("paho.mqtt.client", "aiomqtt")),
    ("gateway (config, site, edge)", ("gateway.config", "gateway.site", "gateway.commands.edge")),
    ("llvmlite", ("llvmlite.binding",)),
    ("numba", ("numba",)),
    ("edge_core kernels (cached)", ("edge_core.detector",)),
)


def rss_mib() -> float:
    """Resident set size of this process (Linux /proc)."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def main() -> int:
    """Import each group in turn; print its RSS growth and the running total."""
    before = rss_mib()
    print(f"  {'python runtime':<30} {before:6.1f} MiB")
    for label, modules in GROUPS:
        for module in modules:
            importlib.import_module(module)
        now = rss_mib()
        print(f"  {'+ ' + label:<30} {now - before:6.1f} MiB  (total {now:6.1f})")
        before = now
    return 0


if __name__ == "__main__":
    sys.exit(main())
