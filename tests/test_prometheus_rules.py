"""deploy/prometheus: the alert rules are valid, fire when they should, and name metrics the service exposes."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client import CollectorRegistry

from api.metrics import HttpMetrics
from worker_metrics import FigureGauges

PROMETHEUS = Path(__file__).resolve().parents[1] / "deploy" / "prometheus"
PROMTOOL = shutil.which("promtool")
needs_promtool = pytest.mark.skipif(
    PROMTOOL is None, reason="promtool is not installed (make test installs it: scripts/ensure-tools.sh)"
)
# The Temporal SDK's metrics the rules use, as its Prometheus exporter names them (docs/operations.md);
# tests/test_metrics.py shows the exporter answering through the worker's /metrics.
SDK_METRICS = {"temporal_workflow_task_execution_failed", "temporal_workflow_task_schedule_to_start_latency_bucket"}
# Words of PromQL that look like metric names.
PROMQL_WORDS = {"offset", "d", "m", "h"}


def exposed() -> set[str]:
    """Every sample name the API's and the worker's own metrics produce."""
    registries = [HttpMetrics().registry, CollectorRegistry()]
    FigureGauges(registries[1])
    names = {"up"} | SDK_METRICS
    for registry in registries:
        for family in registry.collect():
            names.add(family.name)
            names.update(f"{family.name}{suffix}" for suffix in ("_total", "_bucket", "_count", "_sum"))
    return names


def rules() -> list[dict[str, Any]]:
    loaded = yaml.safe_load((PROMETHEUS / "alerts.yml").read_text(encoding="utf-8"))
    return [rule for group in loaded["groups"] for rule in group["rules"]]


def test_every_rule_names_metrics_the_service_exposes() -> None:
    known = exposed()
    for rule in rules():
        # Drop label matchers, groupings, ranges and strings: every identifier left not followed by `(` is a metric.
        expr = re.sub(r"\{[^}]*\}|\b(by|without)\s*\([^)]*\)|\"[^\"]*\"|\[[^\]]*\]", " ", rule["expr"])
        names = {m for m in re.findall(r"\b([a-zA-Z_][a-zA-Z0-9_]*)\b(?!\s*\()", expr) if not m.isdigit()}
        unknown = names - known - PROMQL_WORDS
        assert not unknown, f"{rule['alert']}: {unknown}"
        assert rule["annotations"]["summary"], rule["alert"]


def test_the_configuration_loads_the_rules() -> None:
    config = yaml.safe_load((PROMETHEUS / "prometheus.yml").read_text(encoding="utf-8"))
    assert config["rule_files"] == ["alerts.yml"]
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    assert jobs["approvals-api"]["dns_sd_configs"][0]["port"] == 8000
    assert jobs["approvals-worker"]["dns_sd_configs"][0]["port"] == 9464


@needs_promtool
def test_promtool_accepts_the_configuration_and_rules() -> None:
    assert PROMTOOL is not None
    for args in (["check", "config", "prometheus.yml"], ["check", "rules", "alerts.yml"]):
        result = subprocess.run([PROMTOOL, *args], cwd=PROMETHEUS, capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stdout + result.stderr


@needs_promtool
def test_the_alerts_fire_on_the_series_that_should_fire_them() -> None:
    assert PROMTOOL is not None
    result = subprocess.run(
        [PROMTOOL, "test", "rules", "alerts.test.yml"], cwd=PROMETHEUS, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr
