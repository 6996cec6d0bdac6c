"""The ingest service's configuration (one YAML file, or its ``ingest:`` section).

Read like a site file: frozen models, unknown keys are errors, every problem printed as
``file:line field: reason`` at start-up (stage one, field schema), then the cross-field
rules of each back end (stage two, in the model validators). Secrets are named by a
:class:`~gateway.central.SecretRef`, never inline::

    broker: {url: "mqtt://127.0.0.1:1883", client_id: ingest}
    influxdb:
      url: http://127.0.0.1:8086
      api: v2                      # v2: /api/v2/write (2.x, 3.x, 1.8+, VictoriaMetrics)
      org: hazard
      bucket: hazard
      token: {env: HAZARD_INFLUX_TOKEN}
    deadletter: {path: state/ingest-deadletter.sqlite}
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from gateway.central import BrokerConfig, SecretRef, load_central_config
from gateway.modelbase import FrozenModel

__all__ = [
    "MIN_RETENTION_DAYS",
    "BatchConfig",
    "DeadLetterConfig",
    "InfluxConfig",
    "IngestConfig",
    "MetricsConfig",
    "ScaleConfig",
    "load_ingest_config",
]

MIN_RETENTION_DAYS = 30  # the regulatory minimum of history
DEFAULT_CLIENT_ID = "hazard-ingest"


class InfluxConfig(FrozenModel):
    """Where rows go: the v2 write API (org + bucket + token) or v1 ``/write`` (database)."""

    url: str = Field(pattern=r"^https?://[^/\s]+", description="http(s)://host:port")
    api: Literal["v1", "v2"] = "v2"
    org: str | None = None
    bucket: str | None = None
    token: SecretRef | None = None
    database: str | None = Field(None, description="v1 database; on 2.x the DBRP name")
    retention_policy: str | None = None
    username: str | None = None
    password: SecretRef | None = None
    retention_days: int = Field(180, ge=MIN_RETENTION_DAYS, le=36500)
    timeout_s: float = Field(10.0, gt=0, le=300)

    @model_validator(mode="after")
    def _back_end_needs(self) -> InfluxConfig:
        if self.api == "v2" and not (self.org and self.bucket):
            msg = "api v2 needs `org` and `bucket` (VictoriaMetrics accepts any names)"
            raise ValueError(msg)
        if self.api == "v1" and not self.database:
            msg = "api v1 needs `database`"
            raise ValueError(msg)
        if self.password is not None and not self.username:
            msg = "`password` needs `username`"
            raise ValueError(msg)
        return self


class BatchConfig(FrozenModel):
    """How much is written at once, and how many messages may wait unacknowledged."""

    max_points: int = Field(5000, ge=1, le=1_000_000)
    max_messages: int = Field(1000, ge=1, le=65535, description="receive maximum")
    flush_interval_s: float = Field(1.0, gt=0, le=60)
    max_backoff_s: float = Field(30.0, ge=0.1, le=600, description="cap of the retry backoff")


class DeadLetterConfig(FrozenModel):
    """The SQLite file that keeps what could not be written, with the reason."""

    path: Path = Path("state/ingest-deadletter.sqlite")
    publish: bool = Field(True, description="also publish to hazard/v1/_deadletter/ingest")


class MetricsConfig(FrozenModel):
    """The Prometheus endpoint (port 0: off) and the console status line."""

    host: str = "127.0.0.1"
    port: int = Field(9464, ge=0, le=65535)
    status_every_s: float = Field(5.0, ge=0, description="0: no console status line")


class ScaleConfig(FrozenModel):
    """How several workers split the load (docs/operations.md, "Ingest")."""

    mode: Literal["single", "partition", "shared"] = "single"
    partition: str | None = Field(None, pattern=r"^\d+/\d+$", description="K/N")
    group: str = Field("ingest", pattern=r"^[A-Za-z0-9_-]{1,32}$")

    @model_validator(mode="after")
    def _partition_given(self) -> ScaleConfig:
        if self.mode == "partition" and self.partition is None:
            msg = "mode partition needs `partition: K/N` (or --partition K/N)"
            raise ValueError(msg)
        if self.partition is not None:
            k, n = (int(part) for part in self.partition.split("/"))
            if not 0 <= k < n:
                msg = f"partition {self.partition}: need 0 <= K < N"
                raise ValueError(msg)
        return self


class IngestConfig(FrozenModel):
    """Everything one ingest worker needs."""

    broker: BrokerConfig
    influxdb: InfluxConfig
    batch: BatchConfig = BatchConfig()
    deadletter: DeadLetterConfig = DeadLetterConfig()
    metrics: MetricsConfig = MetricsConfig()
    scale: ScaleConfig = ScaleConfig()
    protocol: Literal["5", "3.1.1"] = "5"
    session_expiry_s: int = Field(7 * 86400, ge=60, description="MQTT 5 session expiry")

    @property
    def client_id(self) -> str:
        """The fixed MQTT client id (suffixed per partition): the persistent session's name."""
        base = self.broker.client_id or DEFAULT_CLIENT_ID
        if self.scale.mode == "partition" and self.scale.partition:
            k, n = self.scale.partition.split("/")
            return f"{base}-{k}of{n}"
        return base

    def with_partition(self, partition: str) -> IngestConfig:
        """This config in partition mode for ``K/N`` (what ``--partition`` does)."""
        scale = ScaleConfig(mode="partition", partition=partition, group=self.scale.group)
        return self.model_copy(update={"scale": scale})


def load_ingest_config(path: Path) -> IngestConfig:
    """The ingest config in ``path`` (the whole file, or its ``ingest:`` section)."""
    import yaml  # noqa: PLC0415 - a peek at the top keys only

    with path.open(encoding="utf-8") as handle:
        try:
            top = yaml.safe_load(handle)
        except yaml.YAMLError:
            top = None
    section = "ingest" if isinstance(top, dict) and "ingest" in top else None
    return load_central_config(path, IngestConfig, section)
