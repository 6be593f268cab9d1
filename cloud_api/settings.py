"""Settings of the cloud process: one :class:`CloudSettings`, passed into ``create_app``.

Read from (highest first) keyword arguments, ``AFTERCARE_*`` environment variables
(``AFTERCARE_DB_URL``, ``AFTERCARE_SECRET_KEY``, ...) and an optional TOML file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final, Literal

from pydantic import Field, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

__all__ = ["DEFAULT_SECRET", "CloudSettings", "InsecureSettings"]

DEFAULT_SECRET: Final = "aftercare-dev-secret-change-me"  # noqa: S105 — refused in production


class InsecureSettings(ValueError):  # noqa: N818 — reads as the condition
    """A default secret outside demo/test mode."""


class CloudSettings(BaseSettings):
    """Everything the cloud process is configured with.

    Attributes:
        db_url: ``sqlite:///path`` or ``postgresql://...``.
        secret_key: signs staff tokens and customer links; must be set in production.
        mode: ``production`` refuses the default secret; ``demo`` and ``test`` allow it.
        public_url: base URL used in customer links.
        max_body_bytes: larger request bodies get 413.
        gateway_rate_per_s: sustained requests per second per gateway token.
        gateway_rate_burst: burst size of that token bucket.
        staff_token_ttl_s: lifetime of a staff bearer token.
        scheduler_enabled: run the SLA/expiry job in the app lifespan.
        scheduler_max_sleep_s: the job wakes at the earliest deadline, at most this late.
        db_pool_size: connections per process (PostgreSQL).
        notify_smtp_url: apprise ``mailto://``/``mailtos://`` URL of the SMTP server for
            customer e-mail (no ``to``); none sends no e-mail.
        notify_webhook_url: apprise ``json://``/``jsons://`` URL receiving every notice.
        notify_webhook_secret: HMAC key of the webhook signature (defaults to secret_key).
        notify_timezone: time zone of the times written in customer notices.
        notify_link_ttl_days: how long a customer link stays valid.
        notify_worker_enabled: run the notice delivery worker in the app lifespan.
        notify_poll_s: how often the worker looks for due notices.
    """

    model_config = SettingsConfigDict(env_prefix="AFTERCARE_", extra="ignore")

    db_url: str = "sqlite:///aftercare-cloud.db"
    secret_key: str = DEFAULT_SECRET
    mode: Literal["production", "demo", "test"] = "production"
    public_url: str = "http://127.0.0.1:8000"
    max_body_bytes: int = Field(default=256 * 1024, gt=0)
    gateway_rate_per_s: float = Field(default=50.0, gt=0)
    gateway_rate_burst: int = Field(default=200, gt=0)
    staff_token_ttl_s: int = Field(default=12 * 3600, gt=0)
    scheduler_enabled: bool = True
    scheduler_max_sleep_s: float = Field(default=5.0, gt=0)
    db_pool_size: int = Field(default=10, gt=0)
    notify_smtp_url: str | None = None
    notify_webhook_url: str | None = None
    notify_webhook_secret: str | None = None
    notify_timezone: str = "Asia/Shanghai"
    notify_link_ttl_days: float = Field(default=30.0, gt=0)
    notify_worker_enabled: bool = True
    notify_poll_s: float = Field(default=5.0, gt=0)
    toml_file: Path | None = None

    @model_validator(mode="after")
    def _refuse_default_secret(self) -> CloudSettings:
        if self.mode == "production" and self.secret_key == DEFAULT_SECRET:
            raise InsecureSettings(
                "AFTERCARE_SECRET_KEY must be set outside demo/test mode "
                "(the default secret would let anyone forge staff tokens)"
            )
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,  # noqa: ARG003 — no .env files
        file_secret_settings: PydanticBaseSettingsSource,  # noqa: ARG003 — no secret dirs
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Keyword arguments, then ``AFTERCARE_*``, then TOML (``[cloud]`` or top level)."""
        return (init_settings, env_settings, _TomlSource(settings_cls, init_settings))


class _TomlSource(TomlConfigSettingsSource):
    """TOML named by ``toml_file`` (init argument or ``AFTERCARE_TOML_FILE``)."""

    def __init__(self, settings_cls: type[BaseSettings], init: PydanticBaseSettingsSource) -> None:
        import os

        path = init().get("toml_file") or os.environ.get("AFTERCARE_TOML_FILE")
        super().__init__(settings_cls, toml_file=Path(path) if path else None)
        cloud = self.toml_data.get("cloud")
        if isinstance(cloud, dict):
            self.toml_data: dict[str, Any] = cloud
            self.init_kwargs = cloud
