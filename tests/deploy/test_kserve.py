"""deploy/kserve/inferenceservice.yaml: valid against KServe's InferenceService CRD schema (vendored and
trimmed, see the top of data/kserve-inferenceservice-v1beta1.crd.yaml), offline and strict (unknown fields
fail), and consistent with the image, the service's routes and settings, and the plain Deployment."""

import copy
import re
from pathlib import Path

import jsonschema
import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
MANIFEST = REPO / "deploy" / "kserve" / "inferenceservice.yaml"
CRD = Path(__file__).parent / "data" / "kserve-inferenceservice-v1beta1.crd.yaml"
K8S = REPO / "deploy" / "k8s"

# KServe's names (pkg/constants): the model-server container, and the env var a custom predictor uses
# to declare its protocol (pkg/apis/serving/v1beta1/predictor_custom.go).
CONTAINER = "kserve-container"
PROTOCOL_ENV = "PROTOCOL"


def _crd() -> dict:
    [crd] = [d for d in yaml.safe_load_all(CRD.read_text()) if d]
    return crd


def _schema(crd: dict, version: str = "v1beta1") -> dict:
    [v] = [v for v in crd["spec"]["versions"] if v["name"] == version]
    return v["schema"]["openAPIV3Schema"]


def _strict(schema: object) -> object:
    """The CRD schema with additionalProperties: false on every object that lists its properties: what
    the API server's strict field validation (kubectl's default) does with an unknown field."""
    if isinstance(schema, list):
        return [_strict(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: _strict(v) for k, v in schema.items()}
    if "properties" in schema and "additionalProperties" not in schema:
        if not schema.get("x-kubernetes-preserve-unknown-fields"):
            out["additionalProperties"] = False
    return out


@pytest.fixture(scope="module")
def crd() -> dict:
    return _crd()


@pytest.fixture(scope="module")
def validator(crd: dict) -> jsonschema.Draft202012Validator:
    schema = _strict(copy.deepcopy(_schema(crd)))
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


@pytest.fixture(scope="module")
def lenient(crd: dict) -> jsonschema.Draft202012Validator:
    """The schema exactly as vendored, without the strictness added above."""
    return jsonschema.Draft202012Validator(_schema(crd))


@pytest.fixture(scope="module")
def isvc() -> dict:
    [doc] = [d for d in yaml.safe_load_all(MANIFEST.read_text()) if d]
    return doc


def _predictor(isvc: dict) -> dict:
    return isvc["spec"]["predictor"]


def _container(isvc: dict) -> dict:
    [c] = _predictor(isvc)["containers"]
    return c


def _env(container: dict) -> dict[str, str | None]:
    return {e["name"]: e.get("value") for e in container.get("env", [])}


def _k8s(kind: str) -> dict:
    for path in K8S.glob("*.yaml"):
        for doc in yaml.safe_load_all(path.read_text()):
            if doc and doc.get("kind") == kind:
                return doc
    raise AssertionError(f"no {kind} in deploy/k8s")


# --- the vendored schema, and validation against it -------------------------------------------------


def test_vendored_crd_is_kserves_inferenceservice(crd: dict) -> None:
    assert crd["kind"] == "CustomResourceDefinition"
    assert crd["metadata"]["name"] == "inferenceservices.serving.kserve.io"
    assert crd["spec"]["group"] == "serving.kserve.io"
    assert crd["spec"]["names"]["kind"] == "InferenceService"
    [v] = [v for v in crd["spec"]["versions"] if v["name"] == "v1beta1"]
    assert v["served"] and v["storage"]
    spec = _schema(crd)["properties"]["spec"]
    assert spec["required"] == ["predictor"]
    # The provenance note at the top names the source file and commit.
    head = CRD.read_text().split("\n---\n", 1)[0]
    assert "kserve/kserve" in head and "config/crd/full/serving.kserve.io_inferenceservices.yaml" in head
    assert re.search(r"commit [0-9a-f]{40}", head)


def test_manifest_kind_and_version(isvc: dict, crd: dict) -> None:
    group = crd["spec"]["group"]
    assert isvc["apiVersion"] == f"{group}/v1beta1"
    assert isvc["kind"] == crd["spec"]["names"]["kind"]


def test_manifest_validates_against_the_crd_schema(isvc: dict, validator: jsonschema.Draft202012Validator) -> None:
    errors = sorted(validator.iter_errors(isvc), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors)


def test_name_is_a_dns_1035_label(isvc: dict) -> None:
    # KServe's webhook refuses other names (the name becomes part of Service and host names).
    name = isvc["metadata"]["name"]
    assert re.fullmatch(r"[a-z]([-a-z0-9]*[a-z0-9])?", name) and len(name) <= 63


def _set(doc: dict, path: tuple, value: object) -> dict:
    broken = copy.deepcopy(doc)
    node = broken
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return broken


def _drop(doc: dict, path: tuple) -> dict:
    broken = copy.deepcopy(doc)
    node = broken
    for key in path[:-1]:
        node = node[key]
    del node[path[-1]]
    return broken


P = ("spec", "predictor")
C = (*P, "containers", 0)


@pytest.mark.parametrize(
    ("make", "lenient_too"),
    [
        # A misspelled field: only strict validation notices (the API server would prune or refuse it).
        pytest.param(lambda d: _set(d, (*P, "minReplica"), 2), False, id="misspelled-field"),
        pytest.param(lambda d: _set(d, (*C, "readinessProbe", "httpGett"), {}), False, id="misspelled-probe"),
        # Wrong types and values: the schema as vendored rejects them on its own.
        pytest.param(lambda d: _set(d, (*P, "minReplicas"), "2"), True, id="replicas-as-string"),
        pytest.param(lambda d: _set(d, (*P, "autoScaling", "metrics", 0, "type"), "Pods"), True, id="bad-metric-type"),
        pytest.param(lambda d: _set(d, (*P, "scaleMetric"), "gpu"), True, id="bad-scale-metric"),
        pytest.param(lambda d: _set(d, (*C, "resources", "limits", "nvidia.com/gpu"), "one"), True, id="bad-quantity"),
        pytest.param(lambda d: _set(d, (*C, "ports", 0, "containerPort"), "8000"), True, id="port-as-string"),
        pytest.param(lambda d: _drop(d, (*C, "name")), True, id="container-without-name"),
        pytest.param(lambda d: _drop(d, ("spec", "predictor")), True, id="no-predictor"),
    ],
)
def test_schema_rejects_a_broken_copy(
    isvc: dict, validator: jsonschema.Draft202012Validator, lenient: jsonschema.Draft202012Validator, make, lenient_too
) -> None:
    broken = make(isvc)
    assert not validator.is_valid(broken)
    assert lenient.is_valid(broken) is not lenient_too


# --- what matters for this service -----------------------------------------------------------------


def test_custom_predictor_speaking_v2_on_port_8000(isvc: dict) -> None:
    predictor = _predictor(isvc)
    # A custom predictor: containers, no model-format spec (model, sklearn, ...).
    assert set(predictor) & {"model", "sklearn", "pytorch", "onnx", "triton"} == set()
    c = _container(isvc)
    assert c["name"] == CONTAINER
    assert _env(c)[PROTOCOL_ENV] == "v2"
    [port] = c["ports"]
    dockerfile = (REPO / "Dockerfile").read_text()
    assert port["containerPort"] == 8000 and f"EXPOSE {port['containerPort']}" in dockerfile
    assert _env(c)["FREQSERVE_PORT"] == str(port["containerPort"])
    assert _env(c)["FREQSERVE_HOST"] == "0.0.0.0"


def test_probes_hit_routes_the_service_serves(isvc: dict) -> None:
    from service.api import health, v2

    paths = {r.path for r in (*v2.router.routes, *v2.health_router.routes, *health.router.routes)}
    c = _container(isvc)
    port = c["ports"][0]["containerPort"]
    assert c["readinessProbe"]["httpGet"] == {"path": "/v2/health/ready", "port": port}
    for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
        get = c[probe]["httpGet"]
        assert get["path"] in paths, (probe, get["path"])
        assert get["port"] == port
    assert {"/v2/health/live", "/v2/health/ready", "/v2/models/{name}", "/v2/models/{name}/ready"} <= paths
    assert "/v2/models/{name}/infer" in paths


def test_probe_routes_need_no_api_key(isvc: dict) -> None:
    """The kubelet's probes send no key: a key check on them would keep every pod unready once
    FREQSERVE_API_KEY is set."""
    from service.api import health, v2
    from service.api.deps import require_api_key

    c = _container(isvc)
    routes = (*v2.router.routes, *v2.health_router.routes, *health.router.routes)
    for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
        if probe not in c:
            continue
        [route] = [r for r in routes if r.path == c[probe]["httpGet"]["path"]]
        needs_key = [
            r
            for r in (v2.router,)
            if route in r.routes and any(d.dependency is require_api_key for d in r.dependencies)
        ]
        assert not needs_key, probe


def test_gpu_request_and_cuda_device(isvc: dict) -> None:
    c = _container(isvc)
    assert c["resources"]["limits"]["nvidia.com/gpu"] == 1
    assert c["resources"]["requests"]["nvidia.com/gpu"] == 1
    assert c["resources"]["requests"]["cpu"]  # CPU utilisation is relative to this
    assert _env(c)["FREQSERVE_DEVICE"] == "cuda"
    tolerations = _predictor(isvc)["tolerations"]
    assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in tolerations


def test_raw_deployment_with_keda(isvc: dict) -> None:
    annotations = isvc["metadata"]["annotations"]
    # "RawDeployment" (called "Standard" by newer KServe, which still accepts the old name): no Knative.
    assert annotations["serving.kserve.io/deploymentMode"] in {"RawDeployment", "Standard"}
    assert annotations["serving.kserve.io/autoscalerClass"] == "keda"
    assert annotations["prometheus.io/port"] == str(_container(isvc)["ports"][0]["containerPort"])
    assert annotations["prometheus.io/path"] == "/metrics"


def test_replicas_and_scale_metrics_match_the_plain_deployment(isvc: dict) -> None:
    predictor = _predictor(isvc)
    hpa = _k8s("HorizontalPodAutoscaler")["spec"]
    assert 2 <= predictor["minReplicas"] <= predictor["maxReplicas"]
    assert (predictor["minReplicas"], predictor["maxReplicas"]) == (hpa["minReplicas"], hpa["maxReplicas"])

    metrics = {m["type"]: m for m in predictor["autoScaling"]["metrics"]}
    assert set(metrics) == {"External", "Resource"}
    external = metrics["External"]["external"]
    assert external["metric"]["backend"] == "prometheus"
    assert external["metric"]["serverAddress"].startswith("http")
    query = external["metric"]["query"]
    # Sums the service's in-flight gauge over this InferenceService's predictor pods, in its namespace.
    assert re.fullmatch(r"sum\(freqserve_in_flight_images\{.*\}\)", query)
    assert f'namespace="{isvc["metadata"]["namespace"]}"' in query
    assert f'pod=~"{isvc["metadata"]["name"]}-predictor-.*"' in query
    # KServe hands target.value to KEDA as the Prometheus trigger's threshold (an average per pod).
    assert external["target"]["type"] == "Value"
    [pods] = [m["pods"] for m in hpa["metrics"] if m["type"] == "Pods"]
    assert pods["metric"]["name"] == "freqserve_in_flight_images"
    assert external["target"]["value"] == pods["target"]["averageValue"]

    cpu = metrics["Resource"]["resource"]
    [hpa_cpu] = [m["resource"] for m in hpa["metrics"] if m["type"] == "Resource"]
    assert cpu["name"] == hpa_cpu["name"] == "cpu"
    assert cpu["target"] == hpa_cpu["target"]


def test_scale_metric_is_a_gauge_the_service_exports() -> None:
    from service.metrics import Metrics

    families = {f.name: f.type for f in Metrics().registry.collect()}
    assert families["freqserve_in_flight_images"] == "gauge"


def test_rollout_needs_no_spare_gpu(isvc: dict) -> None:
    strategy = _predictor(isvc)["deploymentStrategy"]
    assert strategy["type"] == "RollingUpdate"
    assert strategy["rollingUpdate"] == {"maxSurge": 0, "maxUnavailable": 1}


def test_image_matches_the_deployment(isvc: dict) -> None:
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    [deployment_container] = _k8s("Deployment")["spec"]["template"]["spec"]["containers"]
    [image] = [i for i in kustomization["images"] if i["name"] == deployment_container["image"]]
    assert _container(isvc)["image"] == f"{image['newName']}:{image['newTag']}"


def test_env_matches_the_deployment_and_the_settings(isvc: dict) -> None:
    from service.settings import Settings

    env = _env(_container(isvc))
    known = {f"FREQSERVE_{name}" for name in Settings.model_fields}
    ours = set(env) - {PROTOCOL_ENV}
    assert ours <= known, sorted(ours - known)
    [deployment_container] = _k8s("Deployment")["spec"]["template"]["spec"]["containers"]
    plain = _env(deployment_container)
    assert ours == set(plain) - {"FREQSERVE_API_KEY"}
    assert {k: env[k] for k in ours} == {k: plain[k] for k in ours}


def test_security_resources_and_grace_period_match_the_deployment(isvc: dict) -> None:
    predictor = _predictor(isvc)
    c = _container(isvc)
    pod = _k8s("Deployment")["spec"]["template"]["spec"]
    [plain] = pod["containers"]
    dockerfile = (REPO / "Dockerfile").read_text()
    uid = re.search(r"^USER (\d+)", dockerfile, re.M)
    assert uid and predictor["securityContext"]["runAsUser"] == int(uid.group(1))
    assert predictor["securityContext"] == pod["securityContext"]
    assert c["securityContext"] == plain["securityContext"]
    assert c["resources"] == plain["resources"]
    assert predictor["automountServiceAccountToken"] is False
    # readOnlyRootFilesystem: /tmp is an emptyDir, as in the Deployment.
    assert c["volumeMounts"] == plain["volumeMounts"]
    assert predictor["volumes"] == pod["volumes"]
    pause = int(c["lifecycle"]["preStop"]["exec"]["command"][1])
    drain = float(_env(c)["FREQSERVE_SHUTDOWN_TIMEOUT_S"])
    assert predictor["terminationGracePeriodSeconds"] > pause + drain
