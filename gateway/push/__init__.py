"""Regulator push (central): every alarm, status change and reading to the platforms.

    config      PushConfig, load_push_config, check_sites (codes the channels need)
    settings    per-channel filters, send flags, delivery (timeouts, backoff), periods
    items       PushItem: what a queue holds (alarm, site_status, realtime, heartbeat, overdue)
    queue       ChannelQueue: one SQLite WAL file per channel (backlog, done, dead, stats)
    manifests   ManifestBook (site manifests from MQTT) and missing_codes
    router      MQTT message -> contract types -> items -> channel queues
    sites       SiteTracker: online/offline (status, last will, silence), latest values
    overdue     Dispositions: activations without a disposition in time
    worker      ChannelWorker: one task per channel, failures sorted by class
    channels/   the channel-type registry: webhook, mem-http, mqtt-bridge
    subscriber  paho-mqtt with manual ack (ack after the queues committed)
    service     PushService / run_push: the composition root
    metrics     /metrics (Prometheus) from the stats snapshot
    status      `push status` from the queue files

Entry point for other code: ``await run_push(config, stop)`` (see gateway/push/service.py).
This package never imports the edge, the simulator or edge_core: it meets them over MQTT.
"""

from __future__ import annotations

from gateway.push.config import PushConfig, load_push_config
from gateway.push.service import PushService, PushStats, run_push

__all__ = ["PushConfig", "PushService", "PushStats", "load_push_config", "run_push"]
