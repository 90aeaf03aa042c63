"""One settings object for the CLI, service and workers (env prefix CONNECTOMEDB_)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PLACEHOLDER_PASSWORDS = {"", "neo4j", "password", "changeme", "change-me"}
DEV_PASSWORD = "connectomedb-dev"


class Settings(BaseSettings):
    """Runtime configuration. Build once in the CLI or app factory, never at import time."""

    model_config = SettingsConfigDict(env_prefix="CONNECTOMEDB_", env_file=".env", extra="ignore")

    environment: Literal["development", "test", "production"] = "development"

    # Neo4j connection. When neo4j_uri is set, that server is used and nothing is started.
    neo4j_uri: str | None = None
    neo4j_user: str = "neo4j"
    neo4j_password: SecretStr = SecretStr(DEV_PASSWORD)
    neo4j_database: str = "neo4j"

    # The local Neo4j (built from Maven Central jars, started by `connectomedb neo4j start`).
    home: Path = Field(
        default=Path(".neo4j"), description="NEO4J_HOME and data of the local server"
    )
    bolt_port: int = Field(default=7687, ge=1, le=65535)
    http_port: int = Field(default=7474, ge=1, le=65535)
    heap_size: str = "2g"
    pagecache_size: str = "2g"
    start_timeout_s: float = Field(default=180.0, gt=0)
    java_home: Path | None = None

    # Data and loading.
    data_cache: Path = Field(default=Path.home() / ".cache" / "connectomedb")
    batch_size: int = Field(default=10_000, ge=1, le=1_000_000)

    # The API service.
    api_host: str = "127.0.0.1"
    api_port: int = Field(default=8000, ge=1, le=65535)
    query_timeout_s: float = Field(
        default=20.0, gt=0, description="Neo4j transaction timeout for API queries"
    )
    max_page_size: int = Field(default=1000, ge=1, le=100_000)
    max_column_rows: int = Field(
        default=50_000, ge=1, le=1_000_000, description="rows of one page of `adjacency`"
    )
    max_query_depth: int = Field(default=10, ge=2, le=50)
    max_query_tokens: int = Field(default=2000, ge=100)
    max_query_aliases: int = Field(default=20, ge=1)
    max_queries_per_request: int = Field(
        default=100, ge=1, description="Neo4j queries one API request may run"
    )
    census_time_budget_s: float = Field(
        default=20.0, gt=0, description="time one motifCensus request may compute"
    )
    max_census_samples: int = Field(default=10_000, ge=1)
    analysis_edges_per_s: float = Field(
        default=120_000.0,
        gt=0,
        description="connections per second a whole-selection statistic reads and analyses "
        "(its cost estimate; requests estimated past their time limit are refused)",
    )
    max_failed_sign_ins: int = Field(
        default=10,
        ge=1,
        description="failed API-token sign-ins one client address may make per "
        "failed_sign_in_window_s before it is refused (RATE_LIMITED, HTTP 429)",
    )
    failed_sign_in_window_s: float = Field(default=60.0, gt=0)
    default_lab: str = Field(
        default="local", description="owner lab of datasets loaded without --lab"
    )

    @model_validator(mode="after")
    def _refuse_placeholder_secrets(self) -> Settings:
        pw = self.neo4j_password.get_secret_value()
        if self.environment == "production" and (pw in PLACEHOLDER_PASSWORDS or pw == DEV_PASSWORD):
            raise ValueError(
                "CONNECTOMEDB_NEO4J_PASSWORD must be set to a real secret in production"
            )
        if len(pw) < 8 and self.neo4j_uri is None:
            raise ValueError("the local Neo4j needs a password of at least 8 characters")
        return self

    @property
    def local(self) -> bool:
        """True when the service manages its own Neo4j (no external URI given)."""
        return self.neo4j_uri is None

    @property
    def uri(self) -> str:
        return self.neo4j_uri or f"bolt://127.0.0.1:{self.bolt_port}"

    @property
    def artifacts(self) -> Path:
        """Where workers write the files of their runs (spike trains, plots) and the API
        reads them back: ``data_cache/artifacts``, shared by both on one machine."""
        return self.data_cache / "artifacts"
