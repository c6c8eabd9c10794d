"""The FastAPI application: lifespan-owned engine and Temporal client, routes, problem details."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from api.deps import Services
from api.documents import Idempotency
from api.errors import install_error_handlers
from api.metrics import HttpMetrics, RequestMetrics
from api.routes import admin, auth, documents, notifications, office, operations, problems, projects, steps
from logs import configure_logging
from models.calendar_store import CalendarSource
from models.db import make_engine, reader_factory, session_factory
from models.storage import make_storage
from settings import Settings, get_settings
from web.app import install_pages
from workflows.search import connect


def create_app(settings: Settings | None = None) -> FastAPI:
    """The API; settings default to the environment's."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        configure_logging(settings.log_json, settings.log_level)
        engine = make_engine(settings.database_url)
        client = await connect(settings.temporal_address, settings.temporal_namespace)
        app.state.services = Services(
            settings=settings,
            sessions=session_factory(engine),
            temporal=client,
            calendar=CalendarSource.of(settings),
            storage=make_storage(settings),
            readers=reader_factory(engine),
        )
        # What start-up built lives as long as the process: moved out of the collector's sight, a
        # full collection no longer walks it, which kept a page's p99 several times its p50.
        gc.freeze()
        yield
        await engine.dispose()

    app = FastAPI(
        title="Investment-project approvals",
        version="1.0.0",
        description="Approval orchestration for district government-affairs offices (项目审批代办).",
        lifespan=lifespan,
        docs_url=None,  # served by the pages with Swagger UI's own files (web/app.py): no CDN
        redoc_url=None,
    )
    install_error_handlers(app)
    app.add_middleware(Idempotency)  # api/idempotency.py, but for uploads, which keep their key themselves
    for module in (auth, projects, steps, documents, problems, office, admin, notifications):
        app.include_router(module.router)
    app.include_router(operations.router)
    install_pages(app)
    # Outermost, so that it counts every answer, an Idempotency-Key replay and a page's error included.
    app.state.http_metrics = HttpMetrics()
    app.add_middleware(RequestMetrics, metrics=app.state.http_metrics)
    return app


app = create_app()
