"""deploy/k8s: every manifest validates against the Kubernetes JSON schemas (kubernetes-validate, offline,
strict: unknown fields fail), and the pieces agree with each other and with the image."""

import copy
import json
import re
from pathlib import Path

import jsonschema
import kubernetes_validate.utils as kv  # dev extra; ships the schemas of every release it supports
import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
K8S = REPO / "deploy" / "k8s"
# prometheus-adapter's rules: a ConfigMap for the adapter's own namespace, kept out of the kustomization
# (see the comment at its top).
ADAPTER = K8S / "prometheus-adapter-rules.yaml"
ADAPTER_SCHEMA = Path(__file__).parent / "data" / "prometheus-adapter-config.schema.json"
# The oldest release the manifests are meant for (autoscaling/v2 and policy/v1 are GA long before) and the
# newest the installed kubernetes-validate knows.
VERSIONS = ("1.29.0", kv.latest_version())


def _docs(path: Path) -> list[dict]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


def _manifests() -> dict[str, dict]:
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    out = {}
    for name in kustomization["resources"]:
        for doc in _docs(K8S / name):
            out[doc["kind"]] = doc
    return out


def test_kustomization_lists_every_manifest() -> None:
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    assert kustomization["apiVersion"] == "kustomize.config.k8s.io/v1beta1"
    on_disk = sorted(p.name for p in K8S.glob("*.yaml") if p.name not in {"kustomization.yaml", ADAPTER.name})
    assert sorted(kustomization["resources"]) == on_disk
    assert [i["name"] for i in kustomization["images"]] == ["freqserve"]


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("path", sorted(p.name for p in K8S.glob("*.yaml") if p.name != "kustomization.yaml"))
def test_manifest_validates_against_the_kubernetes_schema(path: str, version: str) -> None:
    docs = _docs(K8S / path)
    assert docs
    for doc in docs:
        # Raises SchemaNotFoundError for an unknown kind/apiVersion, ValidationError for a bad field.
        kv.validate(doc, version, strict=True)


def test_strict_validation_catches_a_misspelled_field() -> None:
    deployment = _manifests()["Deployment"]
    broken = {**deployment, "spec": {**deployment["spec"], "replica": 3}}
    with pytest.raises(kv.ValidationError, match="replica"):
        kv.validate(broken, VERSIONS[-1], strict=True)


def test_expected_kinds() -> None:
    kinds = {k: d["apiVersion"] for k, d in _manifests().items()}
    assert kinds == {
        "Deployment": "apps/v1",
        "Service": "v1",
        "HorizontalPodAutoscaler": "autoscaling/v2",
        "PodDisruptionBudget": "policy/v1",
    }


def _container(deployment: dict) -> dict:
    [container] = deployment["spec"]["template"]["spec"]["containers"]
    return container


def test_probes_resources_and_security_match_the_image() -> None:
    deployment = _manifests()["Deployment"]
    pod = deployment["spec"]["template"]["spec"]
    c = _container(deployment)
    assert c["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert c["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert c["startupProbe"]["httpGet"]["path"] == "/healthz"
    [port] = c["ports"]
    dockerfile = (REPO / "Dockerfile").read_text()
    assert port["name"] == "http" and f"EXPOSE {port['containerPort']}" in dockerfile
    assert c["resources"]["limits"]["nvidia.com/gpu"] == 1
    assert c["resources"]["requests"]["cpu"]  # the HPA's utilization is relative to this
    uid = re.search(r"^USER (\d+)", dockerfile, re.M)
    assert uid and pod["securityContext"]["runAsUser"] == int(uid.group(1))
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert c["securityContext"]["allowPrivilegeEscalation"] is False


def test_grace_period_covers_drain_and_prestop_pause() -> None:
    deployment = _manifests()["Deployment"]
    c = _container(deployment)
    env = {e["name"]: e.get("value") for e in c["env"]}
    pause = int(c["lifecycle"]["preStop"]["exec"]["command"][1])
    drain = float(env["FREQSERVE_SHUTDOWN_TIMEOUT_S"])
    assert deployment["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] > pause + drain


def test_env_names_are_settings_the_service_knows() -> None:
    from service.settings import Settings

    known = {f"FREQSERVE_{name}" for name in Settings.model_fields}
    names = {e["name"] for e in _container(_manifests()["Deployment"])["env"]}
    assert names <= known, sorted(names - known)


def test_selectors_agree() -> None:
    m = _manifests()
    deployment = m["Deployment"]
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    selector = deployment["spec"]["selector"]["matchLabels"]
    assert selector.items() <= pod_labels.items()
    assert m["Service"]["spec"]["selector"].items() <= pod_labels.items()
    assert m["PodDisruptionBudget"]["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()
    [svc_port] = m["Service"]["spec"]["ports"]
    assert svc_port["targetPort"] in {p["name"] for p in _container(deployment)["ports"]}
    target = m["HorizontalPodAutoscaler"]["spec"]["scaleTargetRef"]
    assert (target["kind"], target["name"]) == ("Deployment", deployment["metadata"]["name"])


def test_disruption_budget_leaves_a_replica_serving() -> None:
    m = _manifests()
    hpa, pdb = m["HorizontalPodAutoscaler"]["spec"], m["PodDisruptionBudget"]["spec"]
    assert hpa["minReplicas"] >= 2
    assert pdb["maxUnavailable"] < hpa["minReplicas"]
    assert m["Deployment"]["spec"]["replicas"] == hpa["minReplicas"]


# --- queue-depth autoscaling: prometheus-adapter rules and the HPA's Pods metric ---------------------


def _adapter_configmap() -> dict:
    [doc] = _docs(ADAPTER)
    return doc


def _adapter_config(configmap: dict | None = None) -> dict:
    return yaml.safe_load((configmap or _adapter_configmap())["data"]["config.yaml"])


def _adapter_validator() -> jsonschema.Draft202012Validator:
    schema = json.loads(ADAPTER_SCHEMA.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def _exposed_name(rule: dict) -> str:
    """The custom-metrics API name of a rule, as prometheus-adapter derives it (docs/config.md, Naming):
    `as`, with the captures of `matches`; without `as`, $0 if `matches` has no group, $1 if it has one."""
    series = re.match(r"[a-zA-Z_:][a-zA-Z0-9_:]*", rule["seriesQuery"].strip("'\""))
    assert series, f"seriesQuery {rule['seriesQuery']!r} does not start with a metric name"
    m = re.search(rule["name"].get("matches") or ".*", series.group(0))
    assert m, f"name.matches {rule['name'].get('matches')!r} does not match the series {series.group(0)!r}"
    if rule["name"].get("as"):
        return m.expand(re.sub(r"\$\{?(\d+)\}?", r"\\g<\1>", rule["name"]["as"]))
    assert m.re.groups <= 1, "several capture groups need an explicit `as`"
    return m.group(m.re.groups)


def test_adapter_configmap_is_for_the_adapters_namespace() -> None:
    configmap = _adapter_configmap()
    assert configmap["kind"] == "ConfigMap"
    assert configmap["metadata"]["namespace"]  # not the app's namespace by accident
    assert set(configmap["data"]) == {"config.yaml"}  # the file the adapter's --config points at
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    assert ADAPTER.name not in kustomization["resources"]


def test_adapter_config_validates_against_its_schema() -> None:
    errors = list(_adapter_validator().iter_errors(_adapter_config()))
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors)


@pytest.mark.parametrize(
    "breakage",
    [
        pytest.param(lambda r: r.pop("metricsQuery"), id="no-metricsQuery"),
        pytest.param(lambda r: r.update(metricQuery=r["metricsQuery"]), id="misspelled-key"),
        pytest.param(lambda r: r.update(seriesFilters=[{"is": "a", "isNot": "b"}]), id="filter-with-is-and-isNot"),
        pytest.param(lambda r: r["resources"]["overrides"]["pod"].pop("resource"), id="override-without-resource"),
        pytest.param(lambda r: r.update(resources={}), id="no-resource-mapping"),
    ],
)
def test_adapter_schema_rejects_a_broken_rule(breakage) -> None:
    config = copy.deepcopy(_adapter_config())
    breakage(config["rules"][0])
    assert not _adapter_validator().is_valid(config)


def test_adapter_rules_expose_per_pod_metrics_the_service_exports() -> None:
    from service.metrics import Metrics

    gauges = {f.name for f in Metrics().registry.collect() if f.type == "gauge"}
    rules = _adapter_config()["rules"]
    assert rules
    for rule in rules:
        series = re.match(r"[a-zA-Z_:][a-zA-Z0-9_:]*", rule["seriesQuery"]).group(0)
        assert series in gauges, f"{series} is not a gauge service/metrics.py exports"
        # Attached to pods (and their namespace), so an HPA can ask for pods/<name>.
        assert rule["resources"]["overrides"] == {"namespace": {"resource": "namespace"}, "pod": {"resource": "pod"}}
        assert 'namespace!=""' in rule["seriesQuery"] and 'pod!=""' in rule["seriesQuery"]
        query = rule["metricsQuery"]
        for field in ("<<.Series>>", "<<.LabelMatchers>>", "<<.GroupBy>>"):
            assert field in query, f"metricsQuery lacks {field}"
        # Rendered as the adapter would for two pods: one value per pod, the model/graph labels summed.
        rendered = (
            query.replace("<<.Series>>", series)
            .replace("<<.LabelMatchers>>", 'namespace="ns",pod=~"a|b"')
            .replace("<<.GroupBy>>", "pod")
        )
        assert rendered == f'sum({series}{{namespace="ns",pod=~"a|b"}}) by (pod)'
        assert "<<" not in rendered and ">>" not in rendered
    names = [_exposed_name(r) for r in rules]
    assert len(names) == len(set(names)), "rules must be mutually exclusive"


def test_hpa_scales_on_the_adapters_in_flight_metric_and_cpu() -> None:
    hpa = _manifests()["HorizontalPodAutoscaler"]["spec"]
    exposed = {_exposed_name(r) for r in _adapter_config()["rules"]}
    by_type = {m["type"]: m for m in hpa["metrics"]}
    assert set(by_type) == {"Pods", "Resource"}
    pods = by_type["Pods"]["pods"]
    assert pods["metric"]["name"] == "freqserve_in_flight_images"
    assert pods["metric"]["name"] in exposed
    assert pods["target"]["type"] == "AverageValue"
    # Per pod: above one full batch, and below the admission limit at which a pod starts answering 503.
    env = {e["name"]: e.get("value") for e in _container(_manifests()["Deployment"])["env"]}
    target = float(pods["target"]["averageValue"])
    assert int(env["FREQSERVE_MAX_BATCH"]) <= target < int(env["FREQSERVE_QUEUE_SIZE"])
    assert by_type["Resource"]["resource"]["name"] == "cpu"


def test_exposed_name_follows_the_adapters_naming_rules() -> None:
    # The helper must agree with docs/config.md's examples, or the name check above proves nothing.
    rule = {"seriesQuery": "http_requests_total{}", "name": {"matches": "^(.*)_total$", "as": "${1}_per_second"}}
    assert _exposed_name(rule) == "http_requests_per_second"
    rule = {"seriesQuery": "container_cpu_usage_seconds_total{}", "name": {"matches": "^container_(.*)_seconds_total$"}}
    assert _exposed_name(rule) == "cpu_usage"
    assert _exposed_name({"seriesQuery": "up{}", "name": {"matches": ""}}) == "up"
