"""The one settings object of the hub, read from ``CMEHUB_*`` environment variables.

Defaults run the demo on one machine: a local Kafka broker started by ``deploy/kafka`` and a
SQLite register file. Set ``CMEHUB_DATABASE_URL`` for PostgreSQL and ``CMEHUB_KAFKA_BOOTSTRAP``
to use an existing Kafka cluster (then nothing is started locally).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def default_state_dir() -> Path:
    """Where the hub keeps its local state (the demo register, logs, local broker data)."""
    return Path.home() / ".cmehub"


class Settings(BaseSettings):
    """Configuration of every part of the hub."""

    model_config = SettingsConfigDict(env_prefix="CMEHUB_", env_file=".env", extra="ignore")

    # Where the hub keeps local state; the Kafka broker's data and jars live under here too.
    state_dir: Path = Field(default_factory=default_state_dir)

    # Kafka. An empty bootstrap means "start and use the local broker on kafka_port".
    kafka_bootstrap: str = ""
    kafka_port: int = 19092
    kafka_controller_port: int = 19093
    schema_registry_url: str = ""
    # Replicas of the topics faust keeps for itself (3 on a production cluster, 1 on one broker).
    kafka_replication_factor: int = 1
    # Put before every topic name (and the matcher's consumer group): several hubs or test runs can
    # share one cluster without seeing each other's topics.
    topic_prefix: str = ""

    # The register. Empty means a SQLite file under state_dir.
    database_url: str = ""
    postgres_port: int = 15432

    # The matching worker: notifications are taken off the stream in batches of up to this many,
    # waiting at most this long for a batch to fill.
    matching_batch_size: int = 200
    matching_batch_wait_s: float = 0.1
    # Its consumer asks the broker for at least this much per fetch, waiting at most this long for it
    # (fewer, fuller fetches; services/matching/transport.py).
    matching_fetch_min_bytes: int = 32768
    matching_fetch_max_wait_ms: int = 50

    # The API and console.
    api_host: str = "127.0.0.1"
    api_port: int = 8080
    api_workers: int = 1  # worker processes of `cmehub api` (each takes 1/N of every client's limits)
    # Threads a worker answers enquiries in (the rest wait on its event loop); 0: on the loop itself,
    # cheapest when the database is near (each hand-over to a thread cost about 1 ms of CPU).
    api_answering_threads: int = 0
    # API security and limits (services/api). Keys for signing tokens live under state_dir/api-keys.
    api_token_ttl_s: int = 900
    api_key_rotation_days: int = 30
    api_max_body_bytes: int = 5_000_000
    api_rate_per_s: float = 50.0  # default per-client rate (a client row may override it)
    api_burst: int = 100
    api_daily_quota: int = 100_000
    api_contact_point: str = ""  # named contact point given in "known" enquiry answers
    api_review_days: int = 2  # working days within which a "possible" enquiry answer is reviewed
    # Peer hubs for outbound enquiries: JSON list of {"la_code", "url", "client_id", "client_secret"}.
    api_peers: list[dict[str, str]] = Field(default_factory=list)
    api_mtls_header: str = ""  # header a TLS-terminating proxy sets with the verified client cert subject

    # The web console (services/api/console). An empty secret means one generated and kept in
    # state_dir/console-secret; set it when several API processes serve the console.
    console_session_secret: str = ""
    console_session_ttl_s: int = 8 * 3600
    console_cookie_secure: bool = False  # set behind HTTPS so the session cookie is never sent in clear
    console_quiet_partner_hours: float = 48.0  # a partner silent this long is flagged on the operations page
    # OpenID Connect single sign-on: not built yet; when empty the console says so and uses local accounts.
    console_oidc_issuer: str = ""

    # The authority this hub serves (3-digit LA code) and its name.
    la_code: str = "383"
    la_name: str = "Leeds"

    # Places, transitions and S2S (services/places, services/transitions).
    # The LA's named S2S administrator (DfE school-to-school service), shown on S2S work and lost-pupil CTFs.
    s2s_administrator: str = ""
    # Postcode centroids CSV (postcode or district, lat, lon); empty: the district centroids shipped.
    places_postcode_centroids: Path | None = None
    places_max_distance_km: float = 8.0
    # A child with an offer not on roll this many school days after the expected start is a no-show.
    transitions_no_show_school_days: int = 5
    # A deletion return naming a new school expects its admission return within this many school days.
    transitions_admission_return_school_days: int = 5

    log_level: str = "INFO"

    # `cmehub up --demo`: school-age children in the simulated home authority.
    demo_children: int = 20_000

    @property
    def local_kafka(self) -> bool:
        """True when the hub starts its own broker (no external bootstrap configured)."""
        return not self.kafka_bootstrap

    @property
    def bootstrap_servers(self) -> str:
        """The Kafka bootstrap servers the hub connects to."""
        return self.kafka_bootstrap or f"127.0.0.1:{self.kafka_port}"

    @property
    def register_url(self) -> str:
        """The SQLAlchemy URL of the register."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.state_dir / 'register.sqlite3'}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (tests clear the cache after changing the environment)."""
    return Settings()
