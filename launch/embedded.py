"""The embedded service `make run` keeps running on one machine: where it keeps its state, its ports,
its parts as the supervisor starts them, and the read model it prepares before the worker starts."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from launch.databases import migrate
from launch.processes import HOST, ROOT, TemporalDevServer, port_taken, service_env, start_api, start_worker
from launch.supervisor import CannotStart, Handle, Part
from models.seed import seed
from settings import Settings

LOCAL_HOSTS = (HOST, "localhost")


class EmbeddedSettings(BaseSettings):
    """`make run`'s own settings (the service's are in settings.py): the data folder and two ports.

    Temporal's port is the one in APPROVALS_TEMPORAL_ADDRESS, which the worker and the API connect to.
    """

    model_config = SettingsConfigDict(env_prefix="APPROVALS_", extra="ignore")

    data_dir: Path = Path(".data")  # relative to the project root
    api_port: int = Field(default=8000, ge=1, le=65535)
    temporal_ui_port: int = Field(default=8233, ge=1, le=65535)


def hide_password(text: str) -> str:
    """Any database URL in the text without its password."""
    return re.sub(r"://([^:/@\s]+):[^@\s]*@", r"://\1:***@", text)


@dataclass(frozen=True)
class Embedded:
    """The embedded service on this machine; `settings` are those its worker and API run with."""

    data: Path
    temporal_port: int
    ui_port: int
    api_port: int
    settings: Settings

    @classmethod
    def configure(cls, settings: Settings, embedded: EmbeddedSettings) -> Embedded:
        """Ready to start; ValueError for an APPROVALS_TEMPORAL_ADDRESS that is not on this machine."""
        host, _, port = settings.temporal_address.rpartition(":")
        if host not in LOCAL_HOSTS or not port.isdigit():
            raise ValueError(
                f"make run starts Temporal on this machine: APPROVALS_TEMPORAL_ADDRESS must be {HOST}:PORT, "
                f"not {settings.temporal_address!r}"
            )
        data = (ROOT / embedded.data_dir).resolve()
        if "database_url" not in settings.model_fields_set:
            # The default read model lives in the data folder, with everything else make run keeps.
            settings = settings.model_copy(update={"database_url": f"sqlite:///{data / 'readmodel.db'}"})
        return cls(data, int(port), embedded.temporal_ui_port, embedded.api_port, settings)

    def ports(self) -> dict[str, int]:
        """Every port the service listens on, by what listens there."""
        return {"Temporal": self.temporal_port, "Temporal web UI": self.ui_port, "API": self.api_port}

    def taken_ports(self) -> dict[str, int]:
        """The ports something else holds already."""
        return {name: port for name, port in self.ports().items() if port_taken(port)}

    def log_file(self, part: str) -> Path:
        return self.data / f"{part}.log"

    def parts(self) -> list[Part]:
        """Temporal on its data file (projects survive its restarts), then the worker and the API."""
        self.data.mkdir(parents=True, exist_ok=True)
        temporal = TemporalDevServer(
            self.temporal_port,
            self.data / "temporal.db",
            ui_port=self.ui_port,
            log_file=self.log_file("temporal"),
            own_session=True,
        )
        env = service_env(self.settings)

        def worker() -> Handle:
            return start_worker(env, log_file=self.log_file("worker"), own_session=True)

        def api() -> Handle:
            return start_api(env, self.api_port, log_file=self.log_file("api"), own_session=True)

        return [
            Part("temporal", temporal.spawn, port=self.temporal_port, log_file=self.log_file("temporal")),
            Part("worker", worker, needs=("temporal",), log_file=self.log_file("worker")),
            Part("api", api, port=self.api_port, needs=("temporal",), log_file=self.log_file("api")),
        ]

    def prepare_read_model(self) -> None:
        """Bring the schema up to date and seed it (the calendar; the demo users when seeding is on)."""
        try:
            migrate(self.settings.database_url)
            asyncio.run(seed(self.settings))
        except Exception as error:
            reason = f"preparing {self.settings.database_url} failed: {error}"
            raise CannotStart("read model", hide_password(reason)) from error
