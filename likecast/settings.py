"""The one settings object of likecast.

Every tunable lives here so that a deployment is described by environment variables
(prefix ``LIKECAST_``) and nothing else; code receives a ``Settings`` instead of reading
globals, which keeps tests free to build their own.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from likecast.errors import UserError
from likecast.zones import known_time_zone

# The first day's prediction ages; the grid then doubles until it reaches the horizon, so
# every age from posting to the horizon lies within the ages the model was trained at.
FIRST_DAY_AGES_MINUTES: tuple[float, ...] = (0, 15, 30, 60, 120, 240, 360, 720, 1440)
LAST_HOUR_MINUTES = 60.0


def age_grid(horizon_minutes: float) -> tuple[float, ...]:
    """The default training ages for a horizon: the first day's, then doubling, then its
    last hour and the horizon itself.

    The last hour is trained so that an answer knows how little time is left; from there
    to the horizon the counts' pace takes over (``features.ages``).
    """
    ages = [a for a in FIRST_DAY_AGES_MINUTES if a < horizon_minutes]
    while ages[-1] * 2 < horizon_minutes:
        ages.append(ages[-1] * 2)
    if horizon_minutes - LAST_HOUR_MINUTES > ages[-1]:
        ages.append(horizon_minutes - LAST_HOUR_MINUTES)
    return (*ages, horizon_minutes)


ENV_PREFIX = "LIKECAST_"


class Settings(BaseSettings):
    """Frozen configuration; derive a variant with ``settings.model_copy(update=...)``."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, frozen=True, extra="ignore")

    home: Path = Field(
        default=Path(".likecast"),
        description="State directory: tracking database, artifacts, creator store.",
    )
    tracking_uri: str | None = Field(
        default=None,
        description="MLflow tracking URI; default sqlite:///<home>/mlflow.db. "
        "MLFLOW_TRACKING_URI is honoured when this is unset.",
    )
    model_name: str = Field(default="likecast", description="Registered model name.")
    alias: str = Field(default="champion", description="Registry alias that serves.")
    threshold: int = Field(default=1000, gt=0, description="Likes that count as a hit.")
    horizon_days: float = Field(default=7.0, gt=0, description="Days a video has to reach it.")
    timezone: str = Field(
        default="Asia/Shanghai",
        description="The clock of the posting-hour and weekday features (the audience's), "
        "fixed in a model at training. Not how times are read: one without an offset is UTC.",
    )
    ages_minutes: tuple[float, ...] | None = Field(
        default=None,
        description="Prediction ages of the training examples (default: from the horizon, "
        "see age_grid).",
    )
    lgbm_threads: int = Field(default=2, ge=1, description="LightGBM num_threads.")
    feature_threads: int = Field(
        default=2, ge=1, description="Threads that build the training examples' features."
    )
    seed: int = Field(default=42, description="Seed of every random choice in training.")
    max_reject_share: float = Field(
        default=0.01, ge=0, le=1, description="Largest share of bad rows a command tolerates."
    )
    host: str = Field(default="127.0.0.1", description="Service bind address.")
    port: int = Field(default=3000, ge=1, le=65535, description="Service port.")
    model_uri: str | None = Field(
        default=None,
        description="Model the service serves: a folder or models:/ URI "
        "(default: the registry's champion).",
    )
    service_workers: int = Field(
        default=2,
        ge=1,
        description="BentoML worker processes, one per core. Each holds its own model (about "
        "220 MB); they switch to a new champion together.",
    )
    service_threads: int = Field(default=4, ge=1, description="BentoML threads per worker.")
    service_dir: Path | None = Field(
        default=None,
        description="Folder a running service's workers share: the model they serve, its "
        "downloads, swap events and metrics. Set by `likecast serve` for its workers.",
    )
    admin_token: str | None = Field(
        default=None, description="Token for /admin routes; unset disables them."
    )
    prediction_log: bool = Field(
        default=True,
        description="Record every answer of the service and of `likecast score` in "
        "<home>/predictions/*.jsonl (LIKECAST_PREDICTION_LOG=off: none).",
    )
    prediction_log_max_bytes: int = Field(
        default=64 * 2**20, ge=4096, description="A prediction log file is closed at this size."
    )
    prediction_log_max_age_s: float = Field(
        default=3600.0, gt=0, description="A prediction log file is closed this long after opening."
    )
    prediction_log_max_waiting: int = Field(
        default=20_000,
        ge=1,
        description="Answers a process may hold for the prediction log's writer; past it, a "
        "request's answers are dropped from the log (and counted in /metrics), never waited for.",
    )
    batch_max_items: int = Field(
        default=1000, ge=1, le=10_000, description="Largest /predict_batch (at most 10,000)."
    )
    batch_max_explain: int = Field(
        default=100, ge=0, description="Most /predict_batch items that may set explain."
    )
    max_body_bytes: int = Field(default=2_000_000, ge=1024, description="Largest request body.")
    body_read_timeout_s: float = Field(
        default=5.0,
        gt=0,
        le=60,
        description="Most seconds a client may take to send a request's body; later, it is "
        "answered 408 and disconnected. A request counts against max_in_flight only once its "
        "body is in.",
    )
    header_read_timeout_s: float = Field(
        default=5.0,
        gt=0,
        le=60,
        description="Most seconds a client may take to send a request's headers (from the "
        "connection or the request's first byte); later, it is answered 408 and disconnected.",
    )
    max_in_flight: int = Field(
        default=32,
        ge=1,
        le=10_000,
        description="Most requests each worker answers at once; more are refused at once with "
        "503 and Retry-After (health checks and /metrics are never refused).",
    )
    max_queue_s: float = Field(
        default=0.5,
        gt=0,
        le=60,
        description="Most seconds a request may wait for its worker before any work on it "
        "starts; longer, it is refused with 503 and Retry-After, so that under overload the "
        "requests served are served fast.",
    )
    reload_interval_s: float = Field(
        default=30.0, gt=0, description="How often the service polls the champion alias."
    )
    registry_unreachable_s: float = Field(
        default=120.0,
        ge=0,
        description="How long the service's alias watcher may fail to reach the registry "
        "before /readyz answers 503 saying so (0: never). It goes on serving meanwhile.",
    )
    history_window: int = Field(
        default=30, ge=1, description="Closed videos per creator that history statistics use."
    )
    require_store: bool = Field(
        default=True,
        description="Whether the service is ready only with a creator store: false lets a "
        "replica with none serve (every creator's history unknown, answered as a new "
        "creator's), /readyz saying so.",
    )
    store_url: str | None = Field(
        default=None,
        description="The creator store on PostgreSQL (postgresql://user:pass@host/db); "
        "default: the SQLite file creator_store.sqlite in the home.",
        pattern=r"^postgres(ql)?://",
    )
    store_check_s: float = Field(
        default=5.0,
        ge=0,
        description="How often a replica asks a PostgreSQL creator store whether a new "
        "generation was materialized (0: before every answer).",
    )
    booster_rows: int = Field(
        default=5_000_000,
        ge=1000,
        description="Most examples a Dask training run's booster trains on (whole videos "
        "sampled beyond).",
    )
    gather_rows: int = Field(
        default=1_000_000,
        ge=1000,
        description="Most examples of each held-out slice a Dask training run gathers.",
    )
    timing_max_gap_minutes: float = Field(
        default=120.0,
        gt=0,
        le=1440,
        description="When the audience likes: snapshots further apart are not read, as "
        "their likes cannot be placed in an hour; a rarer crawl gives no timing.",
    )
    drift_reference_rows: int = Field(
        default=20_000,
        ge=100,
        description="Most test-slice rows the drift reference is binned from (sampled beyond).",
    )
    drift_attribution_rows: int = Field(
        default=2_000,
        ge=100,
        description="Rows of the drift reference whose SHAP values rank the features.",
    )
    drift_false_alarm: float = Field(
        default=0.05,
        gt=0,
        lt=1,
        description="Chance that a drift check of a window drawn like the reference alerts "
        "(for all its features and age buckets together).",
    )
    drift_min_rows: int = Field(
        default=300,
        ge=10,
        description="Fewest answers an age bucket of a window needs to be compared on its own.",
    )

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        return known_time_zone(value)

    @property
    def horizon_minutes(self) -> float:
        """The horizon in minutes, the unit of every age."""
        return self.horizon_days * 24 * 60

    @property
    def training_ages(self) -> tuple[float, ...]:
        """The grid of prediction ages training examples are built at, sorted."""
        if self.ages_minutes:
            return tuple(sorted({float(a) for a in self.ages_minutes}))
        return age_grid(self.horizon_minutes)

    @property
    def champion_uri(self) -> str:
        """The registry alias that serves, as a URI: what runs when no model is named."""
        return f"models:/{self.model_name}@{self.alias}"

    @property
    def resolved_tracking_uri(self) -> str:
        """Explicit setting, then MLFLOW_TRACKING_URI, then SQLite in the state dir.

        Never the deprecated ./mlruns file store.
        """
        import os

        if self.tracking_uri:
            return self.tracking_uri
        if os.environ.get("MLFLOW_TRACKING_URI"):
            return os.environ["MLFLOW_TRACKING_URI"]
        return f"sqlite:///{self.home.resolve() / 'mlflow.db'}"

    @property
    def artifact_root(self) -> Path:
        """Where a local tracking store keeps run artifacts."""
        return self.home.resolve() / "artifacts"

    @property
    def store_path(self) -> Path:
        """The creator store's SQLite file."""
        return self.home.resolve() / "creator_store.sqlite"

    @property
    def store_location(self) -> Path | str:
        """Where the creator store is: its PostgreSQL URL if set, else the SQLite file."""
        return self.store_url or self.store_path


def get_settings(**overrides: object) -> Settings:
    """Read the environment now (not at import), so each command sees the current one.

    A bad value is a user's mistake: one line naming the variable and the rule, not a
    pydantic traceback.
    """
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = "; ".join(
            f"{ENV_PREFIX}{'_'.join(map(str, e['loc'])).upper()}: {e['msg']}"
            for e in exc.errors(include_url=False)
        )
        raise UserError(f"bad setting: {problems}") from exc
