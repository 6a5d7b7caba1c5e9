"""docker-compose.yml cannot run here (no Docker engine): check it by construction."""

import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def compose():
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_it_has_the_production_services(compose):
    assert {"web", "worker", "beat", "db", "redis", "migrate"} <= set(compose["services"])


@pytest.mark.parametrize("service", ["web", "worker", "db", "redis"])
def test_long_running_services_have_health_checks(compose, service):
    assert compose["services"][service]["healthcheck"]["test"]


def test_volumes_are_declared(compose):
    used = set()
    for service in compose["services"].values():
        for volume in service.get("volumes", []):
            name = volume.split(":", 1)[0]
            if not name.startswith(("/", ".")):  # named volumes, not bind mounts
                used.add(name)
    assert used == set(compose["volumes"])


def test_commands_reference_real_entry_points(compose):
    web = compose["services"]["web"]["command"]
    assert web[0] == "gunicorn"
    module, attr = web[1].split(":")
    assert attr == "application"
    assert (ROOT / (module.replace(".", "/") + ".py")).exists()
    for name in ("worker", "beat"):
        command = compose["services"][name]["command"]
        assert command[:3] == ["celery", "-A", "collaboratory"]
    assert (ROOT / "collaboratory" / "celery.py").exists()
    assert compose["services"]["migrate"]["command"][:2] == ["python", "manage.py"]
    assert (ROOT / "manage.py").exists()
    assert compose["services"]["web"]["healthcheck"]["test"][-1].endswith("/healthz")


def test_environment_names_are_settings_the_app_reads(compose):
    settings_source = (ROOT / "collaboratory" / "settings.py").read_text()
    read = set(re.findall(r'env_(?:str|bool|int|list)\(\s*"([A-Z][A-Z0-9_]*)"', settings_source))
    # env_str also reads NAME_FILE (a path to a file holding the secret) for every NAME.
    read |= {f"{name}_FILE" for name in read}
    environment = compose["services"]["web"]["environment"]
    unknown = set(environment) - read
    assert not unknown, f"docker-compose sets variables settings.py never reads: {unknown}"
    assert {"SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL", "REDIS_URL"} <= set(environment)
    assert environment["DEBUG"] == "false"


def test_app_services_use_the_image_built_from_the_dockerfile(compose):
    assert (ROOT / "Dockerfile").exists()
    for name in ("web", "worker", "beat", "migrate"):
        assert compose["services"][name]["build"] == "."


def test_app_services_get_the_sealing_certificate_read_only(compose):
    environment = compose["services"]["worker"]["environment"]
    assert environment["SEALING_CERT_FILE"].startswith("/run/secrets/sealing/")
    assert environment["SEALING_KEY_FILE"].startswith("/run/secrets/sealing/")
    for name in ("web", "worker"):
        mounts = compose["services"][name]["volumes"]
        assert "./secrets/sealing:/run/secrets/sealing:ro" in mounts


def test_workers_are_recycled_before_a_leak_grows(compose):
    assert any(
        part.startswith("--max-memory-per-child=")
        for part in compose["services"]["worker"]["command"]
    )


def test_documents_go_to_the_object_store_not_a_shared_disk(compose):
    services = compose["services"]
    assert services["objectstore"]["healthcheck"]["test"]
    for name in ("web", "worker", "beat", "migrate"):
        environment = services[name]["environment"]
        assert environment["STORAGE_S3_ENDPOINT_URL"].endswith("objectstore:9000}")
        assert environment["STORAGE_S3_BUCKET"]
        assert not any(v.startswith("media:") for v in services[name]["volumes"])
    for name in ("web", "worker", "migrate"):  # beat stores nothing
        assert services[name]["depends_on"]["objectstore-bucket"] == {
            "condition": "service_completed_successfully"
        }
    bucket = services["objectstore-bucket"]
    assert bucket["depends_on"]["objectstore"] == {"condition": "service_healthy"}
