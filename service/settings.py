"""Every knob of the service, read once from the environment (prefix ``FREQSERVE_``) and validated at start-up."""

import os
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# The models shipped with the repository: <repo>/bundled, next to the package in a source checkout. An
# installed wheel has no such folder: there FREQSERVE_MODEL_DIR is required (the container sets it).
BUNDLED_DIR = Path(__file__).resolve().parent.parent / "bundled"


def usable_cores() -> int:
    """Cores this process may run on (a container's CPU set, not the host's core count)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FREQSERVE_", case_sensitive=False, frozen=True, extra="ignore")

    HOST: str = "127.0.0.1"
    PORT: int = Field(8000, ge=0, le=65535)
    MODEL_DIR: Path = Field(None, validate_default=True)  # type: ignore[assignment]  # None: BUNDLED_DIR
    DEVICE: Literal["auto", "cpu", "cuda"] = "auto"
    MAX_BODY_BYTES: int = Field(16 * 1024 * 1024, ge=1)
    MAX_PIXELS: int = Field(40_000_000, ge=1)
    MAX_BATCH: int = Field(16, ge=1, le=1024)
    MAX_DELAY_MS: float = Field(4.0, ge=0, le=10_000)
    QUEUE_SIZE: int = Field(256, ge=1)
    API_KEY: SecretStr | None = None
    # JPEG reading runs in this many threads (the reader releases the GIL); default: one per usable core.
    READ_THREADS: int = Field(default_factory=usable_cores, ge=1)
    # ONNX Runtime intra-op threads per session; default: half the cores, so inference and reading share them.
    INTRA_OP_THREADS: int = Field(default_factory=lambda: max(1, usable_cores() // 2), ge=1)
    RETRY_AFTER_S: int = Field(1, ge=0)
    # Longer than common load-balancer idle timeouts (60 s): the peer closes an idle connection first, so
    # nobody reuses a connection the server is closing (uvicorn's default 5 s raced httpx's 5 s pool expiry).
    KEEPALIVE_S: float = Field(75.0, gt=0)
    SHUTDOWN_TIMEOUT_S: float = Field(30.0, ge=0)
    LOG_LEVEL: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    @field_validator("MODEL_DIR", mode="before")
    @classmethod
    def _default_model_dir(cls, v: object) -> object:
        if v is not None:
            return v
        if not BUNDLED_DIR.is_dir():
            raise ValueError(
                f"FREQSERVE_MODEL_DIR is not set and there is no bundled/ model directory beside the package "
                f"({BUNDLED_DIR}): outside a source checkout, set FREQSERVE_MODEL_DIR to a model directory"
            )
        return BUNDLED_DIR

    @field_validator("API_KEY")
    @classmethod
    def _empty_key_is_none(cls, v: SecretStr | None) -> SecretStr | None:
        return v if v is not None and v.get_secret_value() else None

    @field_validator("LOG_LEVEL", mode="before")
    @classmethod
    def _upper(cls, v: object) -> object:
        return v.upper() if isinstance(v, str) else v

    @model_validator(mode="after")
    def _model_dir_exists(self) -> "Settings":
        if not self.MODEL_DIR.is_dir():
            raise ValueError(f"FREQSERVE_MODEL_DIR={str(self.MODEL_DIR)!r} is not a directory")
        return self
