"""Settings from the environment (prefix ``ASTROSHIELD_``), one profile per deployment kind."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

Profile = Literal["dev", "test", "prod"]

# Values that show a secret was never set; refused outside dev/test so that a
# production deployment cannot start on a secret that is public in this repository.
PLACEHOLDER_SECRETS = frozenset({"", "changeme", "change-me", "secret", "dev-insecure-secret"})
DEV_SECRET = "dev-insecure-secret"  # noqa: S105 - the well-known dev placeholder, refused in prod


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="ASTROSHIELD_", env_file=".env", extra="ignore", frozen=True
    )

    profile: Profile = "dev"
    service_name: str = "astroshield"
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)

    database_url: str = "sqlite+aiosqlite:///./astroshield.db"
    db_pool_size: int = Field(default=10, ge=1, le=500)
    db_max_overflow: int = Field(default=10, ge=0, le=500)
    db_pool_timeout_s: float = Field(default=10.0, gt=0)
    db_connect_timeout_s: float = Field(default=5.0, gt=0)
    db_statement_timeout_ms: int = Field(default=30_000, ge=0)
    db_echo: bool = False
    migrate_on_start: bool = True

    redis_url: str | None = None
    log_level: Literal["debug", "info", "warning", "error", "critical"] = "info"
    log_file: Path | None = None  # JSON lines, rotated by size, in addition to stdout
    log_file_max_bytes: int = Field(default=50 * 1024 * 1024, ge=1024)
    log_file_backups: int = Field(default=5, ge=0, le=100)

    # Derives the CSRF key when set. The placeholder is public: nothing is derived from it.
    secret_key: SecretStr = SecretStr(DEV_SECRET)
    # dev/test: keys that are not configured (JWT signing, PII, CSRF, ...) are random keys
    # generated on first start into this private file (mode 600), never derived from a
    # published value. `serve` refuses a non-loopback address while such keys are in use
    # unless allow_generated_keys is set. prod refuses to start without configured keys.
    local_keys_file: Path = Path(".astroshield/keys.json")
    allow_generated_keys: bool = False

    # Authentication (RFC 8725). Signing keys come from a key file; dev/test without one
    # use a generated key from the local key file, prod refuses to start.
    jwt_issuer: str = "https://astroshield.local"
    jwt_audience: str = "astroshield-api"
    jwt_keys_file: Path | None = None
    access_token_ttl_s: int = Field(default=600, ge=30, le=3600)
    refresh_token_ttl_s: int = Field(default=14 * 86_400, ge=300, le=90 * 86_400)
    jwt_leeway_s: int = Field(default=30, ge=0, le=300)
    session_cookie_secure: bool = True
    # What the database says a token may do (account active and in the token's
    # organisation, current role, token/login/generation not revoked) is cached per
    # process for this long. A revocation takes effect at once on the replica that made it,
    # on the others at once through Redis when configured, and within this bound anyway.
    # 0 checks the database every time.
    auth_cache_ttl_s: float = Field(default=1.0, ge=0, le=30)

    # PII envelope encryption: KEKs "k1:BASE64URL,k2:BASE64URL" and the active id, or a
    # key file; a separate key for the e-mail blind index. Never stored in the database.
    pii_keys: SecretStr | None = None
    pii_active_key: str | None = None
    pii_keys_file: Path | None = None
    pii_index_key: SecretStr | None = None

    # Rate limits ("N/second|minute|hour"), moving window; Redis shares them across replicas.
    rate_limit_enabled: bool = True
    rate_limit_client: str = "600/minute"
    rate_limit_user: str = "1200/minute"
    rate_limit_login: str = "10/minute"
    # Scrapes of /metrics per client (a budget of its own, apart from rate_limit_client).
    rate_limit_metrics: str = "60/minute"
    rate_limit_fail_mode: Literal["open", "closed"] = "open"
    # Replicas sharing a budget share this prefix in Redis; separate deployments don't.
    # The auth invalidation channel is named after it too.
    rate_limit_namespace: str = "astroshield"
    trusted_proxies: list[str] = Field(default_factory=list)

    cors_origins: list[str] = Field(default_factory=list)

    # Retention per data class, in days (0 keeps forever). Run by `astroshield retention
    # run` and by the service itself every retention_interval_s (hourly by default, one
    # replica at a time; 0 turns the schedule off, e.g. for tests that must not run it).
    retention_status_history_days: int = Field(default=730, ge=0)
    retention_audit_days: int = Field(default=2555, ge=0)  # seven years
    retention_inactive_user_pii_days: int = Field(default=365, ge=0)
    retention_batch_size: int = Field(default=1000, ge=1, le=100_000)
    retention_interval_s: int = Field(default=3600, ge=0)

    # Audit chain. Entries are HMAC-SHA256 chained with a key that is never in the database:
    # a key file like the PII one ({"active": "a2", "keys": {"a1": "…", "a2": "…"}}, mode
    # 600); retired keys stay in it so that older entries keep verifying. Required in prod.
    audit_key_file: Path | None = None
    # Signed checkpoints (head sequence and hash) are appended to this file outside the
    # database every interval (one replica; 0 turns the schedule off) and around every
    # retention run; `audit verify` checks the chain against them, which is what reveals
    # deleted newest entries or a chain recomputed with the key. Optionally also to syslog
    # ("/dev/log", or "host:port" over UDP), so that a copy leaves the machine.
    audit_checkpoint_file: Path = Path(".astroshield/audit-checkpoints.jsonl")
    audit_checkpoint_interval_s: float = Field(default=300.0, ge=0)
    audit_checkpoint_syslog: bool = False
    audit_checkpoint_syslog_address: str = "/dev/log"

    # Alerting. The built-in rules watch the service itself; evaluation runs every
    # interval on one replica (0 turns the schedule off, e.g. in tests).
    alert_evaluation_interval_s: float = Field(default=15.0, ge=0)
    alert_error_rate_per_minute: float = Field(default=10.0, gt=0)
    alert_p95_latency_ms: float = Field(default=1000.0, gt=0)
    alert_memory_percent: float = Field(default=90.0, gt=0, le=100)
    alert_cpu_percent: float = Field(default=80.0, gt=0, le=100)
    alert_webhook_urls: list[str] = Field(default_factory=list)
    alert_webhook_secret: SecretStr | None = None
    alert_webhook_min_severity: Literal["info", "warning", "critical"] = "warning"
    alert_webhook_max_attempts: int = Field(default=5, ge=1, le=20)
    alert_webhook_base_delay_s: float = Field(default=0.5, ge=0)

    alert_email_to: list[str] = Field(default_factory=list)
    alert_email_from: str = "astroshield-alerts@localhost"
    alert_email_min_severity: Literal["info", "warning", "critical"] = "critical"
    smtp_host: str | None = None
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = False
    alert_notification_rate: str = "30/minute"

    # Invitations: an organisation administrator invites an e-mail address; the one-time
    # token goes only to that mailbox (through the SMTP server above), never to the inviter,
    # so the answer to "accept" cannot tell the inviting organisation anything.
    invitation_ttl_s: int = Field(default=72 * 3600, ge=300, le=30 * 86_400)
    invitation_email_from: str = "astroshield@localhost"
    # A page that reads the token from the link's #fragment (never sent to a server) and
    # posts it to /api/v1/invitations/accept; without it the e-mail gives the API call.
    invitation_accept_url: str | None = None
    # Per organisation: every invitation is an e-mail to an address of the inviter's choice.
    rate_limit_invitations: str = "50/hour"
    # Invitations are deleted this long after they expired, accepted ones too (0 keeps them).
    retention_invitation_days: int = Field(default=30, ge=0)
    # Published domain events are deleted from the outbox this long after publishing, and
    # finished webhook deliveries this long after they were created (0 keeps them).
    retention_outbox_days: int = Field(default=14, ge=0)
    retention_webhook_delivery_days: int = Field(default=30, ge=0)
    # The ML prediction log (who asked which model version what, docs/ml.md) is kept this
    # long (0 keeps it).
    retention_ml_prediction_days: int = Field(default=90, ge=0)
    # How often a replica re-reads runtime configuration changed on another one.
    runtime_config_refresh_s: float = Field(default=5.0, ge=0)

    # Telemetry archive. A batch holds at most this many samples; samples more than
    # max_future_s ahead of the server clock are refused. Raw samples older than the
    # retention are reduced to minute aggregates by the retention job (0 keeps them raw).
    # At most ingest_concurrency batches are stored at once per process; more get a 503.
    telemetry_max_batch: int = Field(default=10_000, ge=1, le=1_000_000)
    # Messages buffered per live WebSocket client before it is dropped as a slow consumer.
    telemetry_ws_queue_size: int = Field(default=256, ge=1, le=100_000)
    # A live WebSocket opened without a token must send {"type": "auth", ...} this soon.
    telemetry_ws_auth_timeout_s: float = Field(default=5.0, gt=0, le=60)
    telemetry_max_future_s: float = Field(default=300.0, ge=0)
    telemetry_raw_retention_days: int = Field(default=90, ge=0)
    # Minute aggregates older than this are reduced to hour aggregates (0 keeps them).
    telemetry_minute_retention_days: int = Field(default=730, ge=0)
    telemetry_ingest_concurrency: int = Field(default=4, ge=1, le=1024)
    # --- archive slice: telemetry partitions (PostgreSQL) ---
    # Samples are partitioned by UTC day; startup and every retention run keep today's and
    # this many following days' partitions created (later samples land in the default
    # partition, and a later run moves them into their day's partition).
    telemetry_partitions_ahead_days: int = Field(default=7, ge=1, le=366)
    # --- end archive slice ---
    max_request_body_bytes: int = Field(default=1_048_576, ge=1_024)
    page_size_default: int = Field(default=50, ge=1, le=1000)
    page_size_max: int = Field(default=500, ge=1, le=10_000)
    # Current spacecraft status is cached per process; other replicas may lag a write by
    # at most this long. 0 turns the cache off.
    status_cache_ttl_s: float = Field(default=1.0, ge=0, le=60)
    status_cache_max_entries: int = Field(default=10_000, ge=0)
    # A spacecraft's contact is "stale" when its last contact (newest telemetry sample or
    # reported contact) is older than this; shown beside the health, never changing it.
    spacecraft_contact_stale_s: float = Field(default=21600.0, gt=0)
    readiness_timeout_s: float = Field(default=2.0, gt=0)

    # Conjunctions. A CDM whose TCA is within conjunction_tca_match_s of an event's TCA
    # (same organisation, primary and secondary) is an update of that event.
    conjunction_tca_match_s: float = Field(default=300.0, gt=0, le=3600)
    # Combined hard-body radius (m) used only when nothing else gives one: no hbr_m in the
    # request, no hard_body_radius_m on the spacecraft, no HBR/AREA_PC/COMMENT HBR in the CDM
    # (see astro.conjunction.hard_body). Every Pc records its radius and source (hbr_source
    # "default" here) and warns when this default was used.
    conjunction_default_hbr_m: float = Field(default=20.0, gt=0, le=1000)
    conjunction_pc_mc_samples: int = Field(default=100_000, ge=1_000, le=10_000_000)
    # Screening jobs: the window and search radius are bounded so one request cannot tie up
    # the workers for hours.
    conjunction_screening_max_days: float = Field(default=7.0, gt=0, le=7)
    conjunction_screening_max_threshold_km: float = Field(default=50.0, gt=0, le=500)
    conjunction_screening_workers: int = Field(default=1, ge=1, le=64)

    # Trajectory API: an ephemeris request may cover at most max_days and max_points epochs;
    # an analysis (passes, eclipses, ground track: ~1 s of CPU per day) at most
    # analysis_max_days.
    trajectory_max_points: int = Field(default=100_000, ge=10, le=10_000_000)
    trajectory_max_days: float = Field(default=31.0, gt=0, le=366)
    trajectory_analysis_max_days: float = Field(default=7.0, gt=0, le=31)

    # CCDM (RPO, pattern of life, intent): computed on request from the stored element sets.
    ccdm_proximity_days: int = Field(
        default=7, ge=1, le=60, description="default analysis window (days) of proximity/intent"
    )
    ccdm_max_days: int = Field(
        default=30, ge=1, le=60, description="largest window (days) a request may ask for"
    )
    ccdm_history_days: int = Field(
        default=365,
        ge=7,
        le=3650,
        description="element-set history (days before the newest set) used for maneuver "
        "detection and the pattern-of-life baseline",
    )
    ccdm_max_neighbours: int = Field(
        default=20, ge=1, le=200, description="neighbours analysed per proximity request"
    )
    ccdm_max_plane_angle_deg: float = Field(
        default=5.0, gt=0, le=180, description="neighbour filter: angle between orbit normals"
    )
    ccdm_altitude_band_km: float = Field(
        default=100.0, gt=0, description="neighbour filter: gap between perigee-apogee ranges"
    )
    ccdm_geo_longitude_window_deg: float = Field(
        default=2.0, gt=0, le=180, description="neighbour filter: GEO mean-longitude window"
    )
    ccdm_trend_threshold_km_per_day: float = Field(
        default=5.0,
        gt=0,
        description="|Theil-Sen slope| of the daily closest approach above which a neighbour "
        "is approaching/departing; also the intent approach_trend threshold",
    )
    ccdm_pattern_z_threshold: float = Field(
        default=5.0,
        gt=0,
        description="robust sigmas for an out-of-family event; also the intent "
        "pattern_of_life threshold",
    )
    ccdm_proximity_km: float = Field(
        default=50.0, gt=0, description="intent closest_approach threshold (km)"
    )
    ccdm_weight_pattern_of_life: float = Field(
        default=0.2, ge=0, le=1, description="intent weight of the pattern-of-life deviation"
    )
    ccdm_weight_approach_trend: float = Field(
        default=0.25, ge=0, le=1, description="intent weight of the approach trend"
    )
    ccdm_weight_closest_approach: float = Field(
        default=0.2, ge=0, le=1, description="intent weight of the closest approach"
    )
    ccdm_weight_maneuvered_toward: float = Field(
        default=0.25, ge=0, le=1, description="intent weight of maneuvers toward"
    )
    ccdm_weight_conjunction_risk: float = Field(
        default=0.1, ge=0, le=1, description="intent weight of the conjunction risk"
    )
    ccdm_threat_score: float = Field(
        default=0.6,
        gt=0,
        le=1,
        description="intent score at or above which maneuvers toward plus proximity make a "
        "potential_threat (which raises an alert)",
    )

    # --- CCDM detections slice (issue 16): the follow-up of a catalog import
    # (ccdm.detections.after_catalog_import): manoeuvre detection on the objects that got new
    # element sets, intent re-assessment of the pairs already assessed, and one-vs-all
    # screenings of the organisations' spacecraft.
    ccdm_followup_history_days: int | None = Field(
        default=None,
        ge=7,
        le=3650,
        description="history (days before the newest set) the follow-up runs the detector on; "
        "unset: ccdm_history_days (about 0.5 s of CPU per object-year of daily sets)",
    )
    ccdm_followup_skip_debris: bool = Field(
        default=True,
        description="no detection on objects the catalog names debris or rocket bodies",
    )
    ccdm_followup_screenings: bool = Field(
        default=True, description="request screenings after a catalog import with new sets"
    )
    ccdm_followup_screen_all_spacecraft: bool = Field(
        default=False,
        description="screen every spacecraft of every organisation after an import with new "
        "sets, not only those whose own catalog number got new sets",
    )
    ccdm_followup_screening_days: float = Field(
        default=3.0, gt=0, le=7, description="window (days from the follow-up) of its screenings"
    )
    ccdm_followup_screening_threshold_km: float = Field(
        default=5.0, gt=0, le=500, description="search radius (km) of the follow-up screenings"
    )
    # --- end CCDM detections slice

    # Feature flags: the platform default of each optional module (see features/catalogue.py).
    # A platform administrator may override it at runtime, and for the organisational
    # ones an organisation administrator for their own organisation (GET /api/v1/features).
    feature_live_streams: bool = True
    feature_screening_jobs: bool = True
    feature_ccdm_intent: bool = True
    # The /ml endpoints (docs/ml.md).
    feature_ml_endpoints: bool = False
    # How long a replica serves the model version it loaded before re-reading the
    # registry's active version. An activation reaches every replica at once through Redis
    # when configured, and within this bound anyway. 0 re-reads on every request.
    ml_registry_check_s: float = Field(default=5.0, ge=0, le=300)

    # Observability. /metrics (Prometheus text format) is served unless disabled; with a
    # token set, scrapers must send "Authorization: Bearer <token>". With metrics_address
    # ("host:port", e.g. a private interface) it is served there instead of on the API
    # port. prod refuses to start with /metrics on the API port without a token. Uvicorn
    # workers share one view of the metrics when PROMETHEUS_MULTIPROC_DIR (not prefixed:
    # the client library reads it) names an empty directory.
    metrics_enabled: bool = True
    metrics_token: SecretStr | None = None
    metrics_address: str | None = Field(
        default=None, pattern=r"^(\[[0-9A-Fa-f:.]+\]|[^\s:\[\]]+):[0-9]{1,5}$"
    )
    # Traces are exported over OTLP/HTTP to this collector base URL (spans go to
    # <url>/v1/traces); unset, no span is made at all. The ratio applies to traces that
    # start here; a caller's sampled traceparent is always followed.
    otlp_endpoint: str | None = Field(default=None, pattern=r"^https?://[^\s/]+")
    trace_sample_ratio: float = Field(default=1.0, ge=0.0, le=1.0)
    shutdown_grace_s: float = Field(default=10.0, ge=0)
    # After SIGTERM, /readyz answers 503 this long before the server stops accepting, so a
    # load balancer probing readiness moves traffic away first (docs/operations.md).
    shutdown_drain_s: float = Field(default=0.0, ge=0, le=300)

    # Background jobs (retention, scheduled refreshes...) run once across replicas
    # (src/astroshield/jobs): a runner renews its lease every job_lease_s / 3; a replica
    # takes over a job whose lease ran out; a failed job is retried after
    # job_retry_delay_s, doubling, up to job_max_attempts attempts in all.
    job_lease_s: float = Field(default=60.0, ge=1, le=3600)
    job_max_attempts: int = Field(default=3, ge=1, le=20)
    job_retry_delay_s: float = Field(default=30.0, ge=0, le=86400)

    # Domain events (docs/events.md). Every event goes to the outbox in the transaction of
    # its change; the relay (every outbox_relay_interval_s, 0: not in this process)
    # publishes them to the JetStream stream nats_stream (bound to "astroshield.>") at
    # nats_url. Without nats_url they are kept in the outbox, marked published_to "none".
    nats_url: str | None = Field(default=None, pattern=r"^(nats|tls)://\S+$")
    nats_stream: str = Field(default="ASTROSHIELD", pattern=r"^[A-Za-z0-9_-]{1,64}$")
    nats_publish_timeout_s: float = Field(default=2.0, gt=0, le=60)
    outbox_relay_interval_s: float = Field(default=0.5, ge=0)
    outbox_batch_size: int = Field(default=100, ge=1, le=10_000)
    # A relay that died holding a batch gives it up after this long; another publishes it
    # again (JetStream de-duplicates within its window, 2 minutes).
    outbox_lease_s: float = Field(default=30.0, gt=0, le=3600)
    outbox_retry_base_s: float = Field(default=1.0, gt=0)
    outbox_retry_max_s: float = Field(default=300.0, gt=0)

    # Feeds (slice: feeds; docs/feeds.md). CelesTrak GP and Space-Track, obeying their
    # usage rules: CelesTrak's same query at most once per update cycle; Space-Track at most
    # 30 requests a minute and 300 an hour, no identical query within its refresh interval.
    # Space-Track credentials come only from here and are masked everywhere.
    celestrak_url: str = Field(default="https://celestrak.org", pattern=r"^https?://\S+$")
    celestrak_update_interval_s: float = Field(default=7200.0, ge=0)
    celestrak_groups: list[str] = Field(default_factory=lambda: ["active"])
    spacetrack_url: str = Field(default="https://www.space-track.org", pattern=r"^https?://\S+$")
    spacetrack_identity: SecretStr | None = None
    spacetrack_password: SecretStr | None = None
    spacetrack_batch_size: int = Field(default=100, ge=1, le=500)
    spacetrack_refresh_interval_s: float = Field(default=3600.0, ge=0)
    feeds_timeout_s: float = Field(default=30.0, gt=0, le=600)
    feeds_retry_attempts: int = Field(default=4, ge=1, le=10)
    feeds_retry_base_s: float = Field(default=1.0, ge=0, le=60)
    # Scheduled catalog refresh from feeds_refresh_source (0: off), one job per interval;
    # Space-Track refreshes the catalog numbers of every registered spacecraft.
    feeds_refresh_interval_s: float = Field(default=0.0, ge=0)
    feeds_refresh_source: Literal["celestrak", "spacetrack"] = "celestrak"
    # Scheduled Space-Track cdm_public poll for registered spacecraft (0: off).
    feeds_cdm_poll_interval_s: float = Field(default=0.0, ge=0)
    # Inbound over the bus (docs/inbound.md; slice "inbound"). With nats_url set and
    # inbound_enabled, each replica pulls telemetry and CDMs from the durable JetStream
    # consumer inbound_durable (shared by replicas) on nats_stream, filtered to
    # inbound_filter_subject (narrow it to "astroshield.ingest.<slug>.>" to share one bus
    # between deployments). A message not acknowledged within inbound_ack_wait_s is
    # redelivered (it lands once); a transient failure is retried after
    # inbound_retry_base_s doubling up to inbound_retry_max_s, and dead-lettered at its
    # inbound_max_deliver-th delivery.
    inbound_enabled: bool = True
    inbound_durable: str = Field(default="astroshield-inbound", pattern=r"^[A-Za-z0-9_-]{1,64}$")
    inbound_filter_subject: str = Field(
        default="astroshield.ingest.>", pattern=r"^astroshield\.ingest\.[A-Za-z0-9_*>.-]+$"
    )
    inbound_ack_wait_s: float = Field(default=30.0, gt=0, le=3600)
    inbound_batch_size: int = Field(default=16, ge=1, le=1000)
    inbound_max_deliver: int = Field(default=20, ge=1, le=1000)
    inbound_retry_base_s: float = Field(default=1.0, gt=0, le=3600)
    inbound_retry_max_s: float = Field(default=60.0, gt=0, le=3600)
    # Webhook subscriptions (slice "webhooks", docs/webhooks.md). The dispatcher (every
    # webhook_dispatch_interval_s, 0: not in this process) reads the outbox for each active
    # subscription and POSTs the signed envelopes; a failed attempt is retried after
    # webhook_retry_base_s * 2^attempts (at most webhook_retry_max_s) until
    # webhook_max_attempts. Endpoints must be https and resolve to public addresses;
    # webhook_allow_loopback also admits http to 127.0.0.0/8, ::1 and localhost (tests,
    # a local relay), never private, link-local or metadata addresses.
    webhook_dispatch_interval_s: float = Field(default=1.0, ge=0)
    webhook_batch_size: int = Field(default=50, ge=1, le=1000)
    webhook_lease_s: float = Field(default=60.0, gt=0, le=3600)
    webhook_timeout_s: float = Field(default=5.0, gt=0, le=60)
    webhook_max_attempts: int = Field(default=8, ge=1, le=30)
    webhook_retry_base_s: float = Field(default=2.0, gt=0)
    webhook_retry_max_s: float = Field(default=3600.0, gt=0)
    webhook_allow_loopback: bool = False
    webhook_max_per_organisation: int = Field(default=20, ge=1, le=1000)
    # An event committed later than one with a higher outbox sequence is still found if it
    # commits within this window (longer than any transaction: statements time out at 30 s).
    webhook_fanout_grace_s: float = Field(default=120.0, ge=0, le=3600)
    # Chaos suite (issue 17): the longest the app waits for PostgreSQL to answer one
    # command (asyncpg's client-side timeout, which also bounds the pool's liveness ping
    # and a commit). A database that went silent (a partition, a blackhole) then costs a
    # 503 with Retry-After after this long instead of a request that never ends. Keep it
    # above db_statement_timeout_ms so a slow query is cancelled by the server first.
    db_command_timeout_s: float = Field(default=35.0, gt=0, le=3600)

    @model_validator(mode="after")
    def _refuse_placeholder_secrets(self) -> Settings:
        if self.profile == "prod":
            if self.secret_key.get_secret_value().strip().lower() in PLACEHOLDER_SECRETS:
                raise ValueError(
                    "ASTROSHIELD_SECRET_KEY is a placeholder; set a real secret in prod"
                )
            if len(self.secret_key.get_secret_value()) < 32:
                raise ValueError("ASTROSHIELD_SECRET_KEY must be at least 32 characters in prod")
        if self.page_size_default > self.page_size_max:
            raise ValueError("page_size_default must not exceed page_size_max")
        # A login's revocation is kept on its refresh-token rows, which retention purges
        # once they expire: an access token must never outlive them.
        if self.refresh_token_ttl_s < self.access_token_ttl_s:
            raise ValueError("refresh_token_ttl_s must not be shorter than access_token_ttl_s")
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
