"""deploy/k8s: every manifest validates against the Kubernetes JSON schemas (kubernetes-validate, offline,
strict: unknown fields fail), and the pieces agree with each other and with the image."""

import re
from pathlib import Path

import kubernetes_validate.utils as kv  # dev extra; ships the schemas of every release it supports
import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
K8S = REPO / "deploy" / "k8s"
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
    on_disk = sorted(p.name for p in K8S.glob("*.yaml") if p.name != "kustomization.yaml")
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
