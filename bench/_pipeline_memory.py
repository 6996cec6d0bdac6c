"""Where the edge process's memory goes: RSS growth per import group, in import order.

RSS and its anonymous part (what the process allocated itself; the rest is the
libraries' file pages, shared and reclaimable) are printed side by side.

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


def memory_mib() -> tuple[float, float]:
    """This process's resident set size and its anonymous part (Linux /proc), in MiB.

    The rest of RSS is file pages mapped from the page cache (the libraries' code), and
    how many of those count depends on the page cache's state, not on the process:
    after a cold start llvmlite's library adds 43 MiB, once cached in large folios 105.
    """
    fields: dict[str, float] = {}
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            name, _, value = line.partition(":")
            if name in ("VmRSS", "RssAnon"):
                fields[name] = int(value.split()[0]) / 1024
    return fields.get("VmRSS", float("nan")), fields.get("RssAnon", float("nan"))


def main() -> int:
    """Import each group in turn; print its RSS and anonymous growth and the totals."""
    rss, anon = memory_mib()
    print(f"  {'python runtime':<30} {rss:6.1f} MiB  (anonymous {anon:5.1f})")
    for label, modules in GROUPS:
        for module in modules:
            importlib.import_module(module)
        now, now_anon = memory_mib()
        print(
            f"  {'+ ' + label:<30} {now - rss:6.1f} MiB  (anonymous {now_anon - anon:5.1f}; "
            f"total {now:6.1f}, anonymous {now_anon:5.1f})"
        )
        rss, anon = now, now_anon
    return 0


if __name__ == "__main__":
    sys.exit(main())
