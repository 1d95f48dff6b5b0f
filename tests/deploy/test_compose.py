"""docker-compose.yml: valid against the Compose Specification schema (vendored, see schemas/README.md),
both as written and after ${VAR:-default} interpolation, and consistent with the image, the service's
settings, and the nginx and Prometheus configs it mounts."""

import hashlib
import json
import re
from pathlib import Path

import jsonschema
import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
SCHEMA = Path(__file__).parent / "schemas" / "compose-spec.json"
SCHEMA_SHA256 = "d549057ebc2925f39f62799eab0db7b9e2c18b35b6c00595199116da3ed10e64"


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((REPO / "docker-compose.yml").read_text())


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft202012Validator:
    schema = json.loads(SCHEMA.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def interpolate(value: object, env: dict[str, str]) -> object:
    """Compose's ``${VAR}``, ``${VAR:-default}`` and ``${VAR-default}``, applied to every string."""
    if isinstance(value, dict):
        return {k: interpolate(v, env) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v, env) for v in value]
    if not isinstance(value, str):
        return value

    def repl(m: re.Match[str]) -> str:
        name, op, default = m.group(1), m.group(2), m.group(3) or ""
        if op == ":-":
            return env.get(name) or default
        if op == "-":
            return env.get(name, default)
        return env.get(name, "")

    return re.sub(r"\$\{(\w+)(?:(:?-)([^}]*))?\}", repl, value)


def _errors(validator: jsonschema.Draft202012Validator, doc: object) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(doc)]


def test_vendored_schema_is_the_recorded_one() -> None:
    assert hashlib.sha256(SCHEMA.read_bytes()).hexdigest() == SCHEMA_SHA256


def test_compose_file_is_valid_as_written_and_interpolated(
    compose: dict, validator: jsonschema.Draft202012Validator
) -> None:
    assert _errors(validator, compose) == []
    assert _errors(validator, interpolate(compose, {})) == []
    assert _errors(validator, interpolate(compose, {"FREQSERVE_RUNTIME": "cpu", "FREQSERVE_BIND": "0.0.0.0"})) == []


@pytest.mark.parametrize(
    ("service_patch", "bad_key"),
    [
        ({"restart_policy": "always"}, "restart_policy"),
        ({"healthcheck": {"test": ["CMD"], "intervall": "5s"}}, "intervall"),
    ],
)
def test_schema_rejects_a_misspelled_key(
    compose: dict, validator: jsonschema.Draft202012Validator, service_patch: dict, bad_key: str
) -> None:
    broken = json.loads(json.dumps(compose))
    broken["services"]["freqserve"].update(service_patch)
    errors = _errors(validator, broken)
    assert errors and bad_key in " ".join(errors)


def test_gpu_reservation_health_restart_and_grace(compose: dict) -> None:
    for name in ("freqserve", "freqserve-replica"):
        svc = compose["services"][name]
        [device] = svc["deploy"]["resources"]["reservations"]["devices"]
        assert device["driver"] == "nvidia" and "gpu" in device["capabilities"]
        assert svc["healthcheck"]["test"] == ["CMD", "python", "/app/healthcheck.py"]
        assert "/app/healthcheck.py" in (REPO / "Dockerfile").read_text()
        assert svc["restart"] == "unless-stopped"
        grace = int(svc["stop_grace_period"].removesuffix("s"))
        assert grace > float(svc["environment"]["FREQSERVE_SHUTDOWN_TIMEOUT_S"])
        assert svc["build"]["args"]["RUNTIME"] == "${FREQSERVE_RUNTIME:-gpu}"


def test_environment_names_are_settings_the_service_knows(compose: dict) -> None:
    from service.settings import Settings

    known = {f"FREQSERVE_{name}" for name in Settings.model_fields}
    env = compose["services"]["freqserve"]["environment"]
    assert set(env) <= known, sorted(set(env) - known)
    assert env["FREQSERVE_HOST"] == "0.0.0.0" and env["FREQSERVE_PORT"] == "8000"


def test_profiles(compose: dict) -> None:
    profiles = {name: svc.get("profiles", []) for name, svc in compose["services"].items()}
    assert profiles == {
        "freqserve": [],
        "freqserve-replica": ["scale"],
        "lb": ["scale"],
        "prometheus": ["monitoring"],
    }
    # Replicas publish no host port (they would collide when scaled); the balancer does.
    assert "ports" not in compose["services"]["freqserve-replica"]
    assert compose["services"]["freqserve-replica"]["deploy"]["replicas"] >= 2


def test_mounted_configs_exist(compose: dict) -> None:
    for svc in compose["services"].values():
        for volume in svc.get("volumes", []):
            source = volume.split(":")[0]
            assert (REPO / source).is_file(), source


def test_nginx_balances_over_the_replicas(compose: dict) -> None:
    conf = (REPO / "deploy" / "nginx.conf").read_text()
    servers = re.findall(r"^\s*server\s+([\w.-]+):(\d+)\b", conf, re.M)
    assert servers == [("freqserve-replica", "8000")]
    assert "proxy_pass http://freqserve;" in conf
    [listen] = re.findall(r"^\s*listen\s+(\d+);", conf, re.M)
    assert compose["services"]["lb"]["ports"] == [f"${{FREQSERVE_BIND:-127.0.0.1}}:{listen}:{listen}"]
    # nginx must not refuse bodies a replica accepts: client_max_body_size >= FREQSERVE_MAX_BODY_BYTES.
    [size] = re.findall(r"client_max_body_size\s+(\d+)m;", conf)
    default_body = interpolate(compose["services"]["freqserve"]["environment"]["FREQSERVE_MAX_BODY_BYTES"], {})
    assert int(size) * 2**20 >= int(str(default_body))


def test_prometheus_scrapes_metrics_of_every_freqserve_service(compose: dict) -> None:
    prom = yaml.safe_load((REPO / "deploy" / "prometheus.yml").read_text())
    jobs = {job["job_name"]: job for job in prom["scrape_configs"]}
    assert all(job["metrics_path"] == "/metrics" for job in jobs.values())
    [static] = jobs["freqserve"]["static_configs"]
    assert static["targets"] == ["freqserve:8000"]
    [dns] = jobs["freqserve-replica"]["dns_sd_configs"]
    assert dns["names"] == ["freqserve-replica"] and dns["port"] == 8000
    assert set(jobs) <= set(compose["services"])


class _Reset:
    pass


class _Override:
    def __init__(self, value: object) -> None:
        self.value = value


class _ComposeLoader(yaml.SafeLoader):
    """SafeLoader plus Compose's merge tags ``!reset`` and ``!override``."""


def _override(loader: yaml.SafeLoader, node: yaml.Node) -> _Override:
    if isinstance(node, yaml.MappingNode):
        return _Override(loader.construct_mapping(node, deep=True))
    return _Override(loader.construct_object(node))


_ComposeLoader.add_constructor("!reset", lambda loader, node: _Reset())
_ComposeLoader.add_constructor("!override", _override)


def merge(base: object, override: object) -> object:
    """Compose's merge of a later file over an earlier one (mappings merged key by key), with its tags."""
    if isinstance(override, _Override):
        return override.value
    if isinstance(base, dict) and isinstance(override, dict):
        out = dict(base)
        for key, value in override.items():
            if isinstance(value, _Reset):
                out.pop(key, None)
            else:
                out[key] = merge(base.get(key), value)
        return out
    return override


def test_cpu_override_drops_the_gpu_and_stays_valid(compose: dict, validator: jsonschema.Draft202012Validator) -> None:
    override = yaml.load((REPO / "deploy" / "compose.cpu.yml").read_text(), Loader=_ComposeLoader)
    merged = merge(compose, override)
    assert isinstance(merged, dict)
    assert _errors(validator, interpolate(merged, {})) == []
    for name in ("freqserve", "freqserve-replica"):
        svc = merged["services"][name]
        assert "devices" not in json.dumps(svc.get("deploy", {}))
        assert svc["build"]["args"]["RUNTIME"] == "cpu"
        assert svc["environment"]["FREQSERVE_DEVICE"] == "cpu"
        assert svc["image"] == "freqserve:cpu"
        assert svc["healthcheck"] == compose["services"][name]["healthcheck"]
    assert merged["services"]["freqserve-replica"]["deploy"] == {"replicas": 2}
