"""docker-compose.yml, the production topology, stays valid and starts its services in the right order."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path

import pytest
import yaml

from workflows.search import SEARCH_ATTRIBUTES

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = shutil.which("docker-compose")

pytestmark = pytest.mark.skipif(
    COMPOSE is None, reason="docker-compose is not installed (make test installs it: scripts/ensure-tools.sh)"
)


# Placeholders for the secrets the file requires; it refuses to render without them.
SECRETS = {
    "APPROVALS_SECRET_KEY": "s" * 40,
    "POSTGRES_PASSWORD": "placeholder",
    "MINIO_ROOT_PASSWORD": "minio-placeholder",
    "APPROVALS_S3_SECRET_KEY": "s3-placeholder",
}


def compose(*args: str, secrets: Mapping[str, str] = SECRETS) -> subprocess.CompletedProcess[str]:
    assert COMPOSE is not None
    # Exactly the given secrets: a value exported in the caller's shell must not hide a missing one.
    env = {name: value for name, value in os.environ.items() if name not in SECRETS} | dict(secrets)
    return subprocess.run(
        [COMPOSE, "--file", str(ROOT / "docker-compose.yml"), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def mapping_at(yaml_text: str, *path: str) -> dict[str, str]:
    """The mapping at `path` in block-style YAML as `docker-compose config` prints it: key -> scalar text.

    Enough for keys and one-line values, with no YAML library; a long folded string needs one.
    Keys of nested mappings map to "".
    """
    found: dict[str, str] = {}
    parents: list[tuple[int, str]] = []  # (indent, key) of the mappings enclosing the current line
    for line in yaml_text.splitlines():
        text = line.lstrip(" ")
        key, colon, value = text.partition(":")
        # Sequence items and continuation lines of long strings are no keys.
        if not text or text.startswith(("-", "#", '"', "\\")) or not colon:
            continue
        indent = len(line) - len(text)
        while parents and parents[-1][0] >= indent:
            parents.pop()
        if tuple(name for _, name in parents) == path:
            found[key.strip("'\"")] = value.strip().strip("'\"")
        parents.append((indent, key))
    return found


def test_compose_file_is_valid() -> None:
    result = compose("config", "-q")
    assert result.returncode == 0, result.stderr


def test_secret_key_is_required() -> None:
    result = compose("config", "-q", secrets={k: v for k, v in SECRETS.items() if k != "APPROVALS_SECRET_KEY"})
    assert result.returncode != 0
    assert "set a secret" in result.stderr


@pytest.mark.parametrize("secret", ["MINIO_ROOT_PASSWORD", "APPROVALS_S3_SECRET_KEY"])
def test_object_store_secrets_are_required(secret: str) -> None:
    result = compose("config", "-q", secrets={k: v for k, v in SECRETS.items() if k != secret})
    assert result.returncode != 0
    assert "object store" in result.stderr


def test_services_start_in_order() -> None:
    result = compose("config")
    assert result.returncode == 0, result.stderr
    config = result.stdout

    services = mapping_at(config, "services")
    assert {"postgresql", "temporal", "temporal-ui", "worker", "api", "migrate"} <= services.keys(), services
    for app in ("api", "worker"):
        needs = mapping_at(config, "services", app, "depends_on").keys()
        assert {"temporal", "temporal-namespace", "migrate"} <= needs, app
    assert "postgresql" in mapping_at(config, "services", "migrate", "depends_on")
    assert "postgresql" in mapping_at(config, "services", "temporal-schema", "depends_on")
    assert "temporal" in mapping_at(config, "services", "temporal-namespace", "depends_on")


def test_temporal_runs_the_server_image_on_a_schema_the_admin_tools_keep_up_to_date() -> None:
    result = compose("config")
    assert result.returncode == 0, result.stderr
    services = yaml.safe_load(result.stdout)["services"]
    assert services["temporal"]["image"].startswith("temporalio/server:")
    assert not any("auto-setup" in str(service.get("image")) for service in services.values())
    # The server starts only once the schema job has finished, and succeeded.
    assert services["temporal"]["depends_on"]["temporal-schema"]["condition"] == "service_completed_successfully"
    # Some docker-compose versions print a script's `$$` escapes as they are written.
    schema = "\n".join(services["temporal-schema"]["command"]).replace("$$", "$")
    assert services["temporal-schema"]["image"].startswith("temporalio/admin-tools:")
    for step in ("create", "setup-schema -v 0.0", 'update-schema -d "$schemas/$dir/versioned"'):
        assert f"$sql {step}" in schema, step
    assert "temporal:temporal visibility:temporal_visibility" in schema
    # Then the namespace and every search attribute the workflows set (workflows/search.py).
    setup = "\n".join(services["temporal-namespace"]["command"]).replace("$$", "$")
    assert "temporal operator namespace create --namespace default" in setup
    for key in SEARCH_ATTRIBUTES:
        assert key.name in setup, key.name


def test_prometheus_scrapes_the_api_and_the_worker() -> None:
    result = compose("config")
    assert result.returncode == 0, result.stderr
    services = yaml.safe_load(result.stdout)["services"]
    prometheus = services["prometheus"]
    assert prometheus["image"].startswith("prom/prometheus:")
    assert {"api", "worker"} <= prometheus["depends_on"].keys()
    # Volumes print as `source:target:mode` or as mappings, by docker-compose version.
    mounts = [
        (v["source"], v["target"]) if isinstance(v, dict) else tuple(v.split(":")[:2]) for v in prometheus["volumes"]
    ]
    mounted = {target: source for source, target in mounts}
    assert Path(mounted["/etc/prometheus"]) == ROOT / "deploy" / "prometheus"
    assert services["worker"]["environment"]["APPROVALS_WORKER_METRICS_ADDRESS"] == "0.0.0.0:9464"
    # The worker's metrics are for Prometheus on the compose network only; the API is probed on readiness.
    assert "ports" not in services["worker"]
    assert "/health/ready" in " ".join(services["api"]["healthcheck"]["test"])


def test_api_runs_in_production_without_demo_data() -> None:
    result = compose("config")
    assert result.returncode == 0, result.stderr
    environment = mapping_at(result.stdout, "services", "api", "environment")
    assert environment["APPROVALS_ENVIRONMENT"] == "production"
    assert environment["APPROVALS_SEED_DEMO"] == "false"
    assert environment["APPROVALS_SECRET_KEY"] == SECRETS["APPROVALS_SECRET_KEY"]
    assert environment["DATABASE_URL"].endswith("@postgresql:5432/approvals")


def test_documents_go_to_minio_whose_bucket_exists_before_the_service_starts() -> None:
    result = compose("config")
    assert result.returncode == 0, result.stderr
    config = result.stdout
    assert {"minio", "minio-setup"} <= mapping_at(config, "services").keys()
    assert "minio" in mapping_at(config, "services", "minio-setup", "depends_on")
    assert "documents" in mapping_at(config, "volumes")
    for app in ("api", "worker"):
        assert "minio-setup" in mapping_at(config, "services", app, "depends_on"), app
        environment = mapping_at(config, "services", app, "environment")
        assert environment["APPROVALS_STORAGE_URL"] == "s3://approvals-documents", app
        assert environment["APPROVALS_S3_ENDPOINT"] == "http://minio:9000", app
        assert environment["APPROVALS_S3_SECRET_KEY"] == SECRETS["APPROVALS_S3_SECRET_KEY"], app
        access_key = environment["APPROVALS_S3_ACCESS_KEY"]
    # The setup script is a long string that the printer folds over lines: read it as YAML.
    setup = "\n".join(yaml.safe_load(config)["services"]["minio-setup"]["command"])
    # The job makes the bucket the service names, and the user (with the service's key) it signs in as.
    assert "mc mb --ignore-existing store/approvals-documents" in setup
    assert f"mc admin user add store {access_key}" in setup
    assert "APPROVALS_S3_SECRET_KEY" in setup
