"""Settings, read from the environment when asked for (never at import time) and overridable by flags."""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import platformdirs
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from bailian_mcp.errors import ConfigurationError

Region = Literal["cn-beijing", "ap-southeast-1", "cn-hongkong", "us-east-1", "eu-central-1", "ap-northeast-1"]

# Each region's shared gateway (the SDK's legacy hosts, `dashscope/v2/_config.py`; Virginia's own, from Model
# Studio's pages). Frankfurt and Tokyo have none of their own: the SDK falls back to the international one, and
# their models want a workspace host (BAILIAN_WORKSPACE).
REGION_BASE_URLS: dict[str, str] = {
    "cn-beijing": "https://dashscope.aliyuncs.com/api/v1",
    "ap-southeast-1": "https://dashscope-intl.aliyuncs.com/api/v1",
    "cn-hongkong": "https://cn-hongkong.dashscope.aliyuncs.com/api/v1",
    "us-east-1": "https://dashscope-us.aliyuncs.com/api/v1",
    "eu-central-1": "https://dashscope-intl.aliyuncs.com/api/v1",
    "ap-northeast-1": "https://dashscope-intl.aliyuncs.com/api/v1",
}
REGION_NAMES: dict[str, str] = {
    "cn-beijing": "Beijing",
    "ap-southeast-1": "Singapore",
    "cn-hongkong": "Hong Kong",
    "us-east-1": "Virginia",
    "eu-central-1": "Frankfurt",
    "ap-northeast-1": "Tokyo",
}
WORKSPACE_BASE_URL = "https://{workspace}.{region}.maas.aliyuncs.com/api/v1"  # the per-workspace gateway
ENV_ALIASES: dict[str, tuple[str, ...]] = {  # the official SDK's names for the same settings, read when ours are unset
    "region": ("DASHSCOPE_REGION",),
    "workspace": ("DASHSCOPE_WORKSPACE",),
}
_WORKSPACE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,62}$")

EMULATOR_KEY = "sk-emulator"  # the key used with the built-in emulator
_UNEXPANDED = re.compile(r"\$\{[^}]*\}|^\$[A-Za-z_]")


def _checked_url(value: Any, schemes: tuple[str, ...]) -> Any:
    """A service URL as given (trimmed, no trailing slash), None when blank; ValueError saying what is wrong."""
    if not isinstance(value, str):
        return value
    text = value.strip().rstrip("/")
    if not text:
        return None
    if _UNEXPANDED.search(text):
        raise ValueError(f"{value!r} contains an unexpanded variable; give the URL itself")
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 (raises ValueError for a port that is not a number in 0-65535)
        host = parts.hostname or ""
        host.encode("ascii").decode("idna") if host.isascii() else host.encode("idna")  # punycode that decodes
    except (ValueError, UnicodeError) as exc:
        raise ValueError(f"{value!r} is not a usable URL ({exc})") from None
    if parts.scheme.lower() not in schemes or not parts.hostname:
        raise ValueError(f"{value!r} is not a usable URL: give {' or '.join(schemes)}://host[:port]/path")
    return text


def _data_home() -> Path:
    return Path(platformdirs.user_data_dir("bailian-mcp", appauthor=False))


class Settings(BaseModel):
    """Every knob, with the environment variable that sets it (its alias; see the README's table).

    Filled by `load_settings`; list-valued variables are split by the validators below, never decoded as JSON.
    """

    model_config = ConfigDict(populate_by_name=True, extra="ignore")

    api_key: SecretStr | None = Field(None, validation_alias="DASHSCOPE_API_KEY")
    base_url: str | None = Field(
        None, validation_alias="DASHSCOPE_BASE_URL", description="Overrides the region's base URL."
    )
    region: Region = Field("cn-beijing", validation_alias="BAILIAN_REGION")
    workspace: str | None = Field(
        None,
        validation_alias="BAILIAN_WORKSPACE",
        description="A Model Studio workspace id: the base URL becomes its own gateway in the region.",
    )
    output_dir: Path = Field(default_factory=lambda: _data_home() / "outputs", validation_alias="BAILIAN_OUTPUT_DIR")
    data_dir: Path = Field(default_factory=_data_home, validation_alias="BAILIAN_DATA_DIR")
    database_url: SecretStr | None = Field(
        None,
        validation_alias="BAILIAN_DATABASE_URL",
        description="A PostgreSQL database (postgresql://user:password@host/db) to keep the jobs in instead of "
        "BAILIAN_DATA_DIR's SQLite file: one store for many machines.",
    )
    lease_seconds: float = Field(
        30.0,
        ge=1,
        le=3600,
        validation_alias="BAILIAN_LEASE_SECONDS",
        description="How long a job stays its process's when it stops renewing it: another takes it over after.",
    )
    input_roots: list[Path] = Field(
        default_factory=list,
        validation_alias="BAILIAN_INPUT_ROOTS",
        description="Folders local input files may come from (os.pathsep-separated); default: home, the "
        "output folder and the temp folder.",
    )
    websocket_url: str | None = Field(
        None, validation_alias="DASHSCOPE_WEBSOCKET_BASE_URL", description="Overrides the derived WebSocket URL."
    )
    wait_seconds: int = Field(50, ge=0, le=600, validation_alias="BAILIAN_WAIT_SECONDS")
    preview_max_bytes: int = Field(512 * 1024, ge=0, le=900 * 1024, validation_alias="BAILIAN_PREVIEW_BYTES")
    preview_max_side: int = Field(512, ge=64, le=2048, validation_alias="BAILIAN_PREVIEW_SIDE")
    inline_audio: bool = Field(
        False,
        validation_alias="BAILIAN_INLINE_AUDIO",
        description="Send short audio results inline too (within BAILIAN_PREVIEW_BYTES); off, audio is a saved file, "
        "a resource link and a URL (agent frameworks turn inline audio into text or refuse it).",
    )
    download_max_bytes: int = Field(500 * 1024 * 1024, ge=1, validation_alias="BAILIAN_DOWNLOAD_MAX_BYTES")
    image_submit_rps: float | None = Field(None, ge=0, validation_alias="BAILIAN_IMAGE_RPS")
    http_timeout: float = Field(60.0, gt=0, validation_alias="BAILIAN_HTTP_TIMEOUT")
    http_token: SecretStr | None = Field(
        None,
        validation_alias="BAILIAN_HTTP_TOKEN",
        description="Bearer token the SSE and streamable HTTP transports require (Authorization: Bearer ...).",
    )
    http_max_connections: int = Field(
        200,
        ge=1,
        validation_alias="BAILIAN_HTTP_MAX_CONNECTIONS",
        description="Connections the HTTP transports hold at once; beyond, new ones get 503 at once.",
    )
    http_header_seconds: float = Field(
        10.0,
        gt=0,
        le=600,
        validation_alias="BAILIAN_HTTP_HEADER_SECONDS",
        description="Seconds a client has to send a request's headers to the HTTP transports before it is cut off.",
    )
    http_stateless: bool = Field(
        False,
        validation_alias="BAILIAN_HTTP_STATELESS",
        description="Streamable HTTP keeps no session between requests, so that replicas behind a load balancer can "
        "each answer any request.",
    )
    allowed_hosts: list[str] = Field(
        default_factory=list,
        validation_alias="BAILIAN_ALLOWED_HOSTS",
        description="Extra Host header values the HTTP transports accept (comma-separated), e.g. a proxy's name.",
    )
    allowed_origins: list[str] = Field(
        default_factory=list,
        validation_alias="BAILIAN_ALLOWED_ORIGINS",
        description="Extra Origin header values the HTTP transports accept (comma-separated).",
    )
    result_mode: Literal["local", "url", "both"] = Field(
        "local",
        validation_alias="BAILIAN_RESULT_MODE",
        description="local: save files, link them as resources; url: no download, link DashScope's URLs; both.",
    )
    budget_cny: float | None = Field(
        None,
        gt=0,
        validation_alias="BAILIAN_BUDGET_CNY",
        description="Spending cap per day (UTC) in CNY, for every process on the job store: a call whose quoted price "
        "would cross it is refused before it is sent.",
    )
    confirm_above_cny: float | None = Field(
        None,
        ge=0,
        validation_alias="BAILIAN_CONFIRM_ABOVE_CNY",
        description="A call quoted above this (CNY) is sent only once the user confirms it (asked through the client "
        "when it can ask, else `confirm: true` in the call).",
    )
    result_max_chars: int = Field(
        60_000,
        ge=2_000,
        le=1_000_000,
        validation_alias="BAILIAN_RESULT_MAX_CHARS",
        description="Cap on the text of one result (long transcripts are cut there; the full one is in the file).",
    )
    tools: list[str] = Field(
        default_factory=list,
        validation_alias="BAILIAN_TOOLS",
        description="Tool groups to serve (comma-separated: image, text, video, audio, tasks); default all.",
    )

    @field_validator("base_url", mode="before")
    @classmethod
    def _usable_url(cls, value: Any) -> Any:
        return _checked_url(value, ("http", "https"))

    @field_validator("input_roots", mode="before")
    @classmethod
    def _split_roots(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [cls._absolute_path(part) for part in value.split(os.pathsep) if part.strip()]
        return value

    @field_validator("tools", mode="before")
    @classmethod
    def _split_groups(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip().lower() for part in value.split(",") if part.strip()]
        return value

    @field_validator("http_token", mode="before")
    @classmethod
    def _usable_token(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = value.strip()
            if not value:
                return None
            if _UNEXPANDED.search(value):
                raise ValueError("contains an unexpanded variable (the MCP host did not fill it in); give the token")
        return value

    @field_validator("allowed_hosts", "allowed_origins", mode="before")
    @classmethod
    def _split_commas(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("region", mode="before")
    @classmethod
    def _region_lowercase(cls, value: Any) -> Any:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("workspace", mode="before")
    @classmethod
    def _usable_workspace(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = value.strip()
            if not value:
                return None
            if not _WORKSPACE.match(value):
                raise ValueError(f"{value!r} is not a workspace id (letters, digits and '-', as the console shows it)")
        return value

    @field_validator("database_url", mode="before")
    @classmethod
    def _postgres_url(cls, value: Any) -> Any:
        """A postgresql:// URL (its value is never echoed: it may hold a password), None when blank."""
        if not isinstance(value, str):
            return value
        if not value.strip():
            return None
        if urlsplit(value.strip()).scheme.lower() not in ("postgresql", "postgres"):
            raise ValueError("give a PostgreSQL URL: postgresql://user:password@host:port/database")
        return value.strip()

    @field_validator("websocket_url", mode="before")
    @classmethod
    def _usable_ws_url(cls, value: Any) -> Any:
        return _checked_url(value, ("ws", "wss"))

    @field_validator("output_dir", "data_dir", mode="before")
    @classmethod
    def _absolute_path(cls, value: Any) -> Any:
        if isinstance(value, str | Path):
            text = str(value)
            if _UNEXPANDED.search(text):
                raise ValueError(
                    f"{text!r} contains an unexpanded variable (the MCP host did not fill it in); give an absolute path"
                )
            return Path(os.path.expanduser(text)).resolve()
        return value

    @property
    def resolved_base_url(self) -> str:
        """The base URL given, else the workspace's gateway in the region, else the region's shared gateway."""
        if self.base_url:
            return self.base_url
        if self.workspace:
            return WORKSPACE_BASE_URL.format(workspace=self.workspace, region=self.region)
        return REGION_BASE_URLS[self.region]

    @property
    def allowed_input_roots(self) -> list[Path]:
        if self.input_roots:
            return list(self.input_roots)
        return [Path.home(), self.output_dir, Path(tempfile.gettempdir())]

    @property
    def job_db_path(self) -> Path:
        return self.data_dir / "jobs.sqlite3"

    def database_url_value(self) -> str | None:
        return self.database_url.get_secret_value() if self.database_url else None

    def api_key_value(self) -> str | None:
        return self.api_key.get_secret_value() if self.api_key else None

    def account(self) -> str:
        """Who DashScope's limits count against: the key (as a digest, never the key) on its service. Processes
        sharing a job store share their pacing and their poller per account."""
        return hashlib.sha256(f"{self.api_key_value()}|{self.resolved_base_url}".encode()).hexdigest()[:16]

    def region_hint(self) -> str:
        """Where this server sends requests, and the other regions a key may belong to (for a 401)."""
        others = ", ".join(f"{r} ({REGION_NAMES[r]})" for r in REGION_BASE_URLS if r != self.region)
        return (
            f"this server uses {self.resolved_base_url} (BAILIAN_REGION={self.region}, {REGION_NAMES[self.region]}); "
            f"a key made in another region works only there: set BAILIAN_REGION to it — {others}"
        )


def environment_variables() -> dict[str, str]:
    """Each setting's environment variable, by field name."""
    return {name: str(field.validation_alias) for name, field in Settings.model_fields.items()}


def all_environment_variables() -> tuple[str, ...]:
    """Every environment variable settings are read from: ours, and the SDK's aliases of some."""
    return (*environment_variables().values(), *(alias for names in ENV_ALIASES.values() for alias in names))


def load_settings(**overrides: Any) -> Settings:
    """Settings from the environment (our variables, else the SDK's aliases), with non-None `overrides` (command-line
    flags, by field name) on top."""
    flags = {name: value for name, value in overrides.items() if value is not None and value != ""}  # "": not given
    values: dict[str, Any] = {}
    for name, variable in environment_variables().items():
        if name in flags:
            continue
        found = next((v for v in (variable, *ENV_ALIASES.get(name, ())) if v in os.environ), None)
        if found is not None:
            values[variable] = os.environ[found]
    values.update(flags)  # by field name, so that an error names the flag's setting rather than the variable
    try:
        return Settings.model_validate(values)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in err['loc'])}: {err['msg'].removeprefix('Value error, ')}"
            for err in exc.errors()
        )
        raise ConfigurationError(f"Invalid settings — {problems}") from exc
