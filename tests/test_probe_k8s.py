"""SC-07's manifest checks on small manifests: the sound set passes (the positive control), and
each broken part fails with its own line."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

from harness.probes import k8s
from harness.probes.documents import FileView

SOUND = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  template:
    spec:
      containers:
        - name: web
          resources: {requests: {cpu: 100m}}
          readinessProbe: {httpGet: {path: /ready, port: 80}}
          livenessProbe: {httpGet: {path: /live, port: 80}}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec:
  template:
    spec:
      containers:
        - name: db
          readinessProbe: {exec: {command: [ready]}}
          livenessProbe: {tcpSocket: {port: 5432}}
          volumeMounts: [{name: data, mountPath: /data}]
  volumeClaimTemplates: [{metadata: {name: data}}]
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: web}
spec:
  scaleTargetRef: {kind: Deployment, name: web}
  minReplicas: 2
  maxReplicas: 8
  metrics: [{type: Resource, resource: {name: cpu}}]
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: web}
spec:
  tls: [{hosts: [a.example.test], secretName: a-tls}]
  rules: [{host: a.example.test}]
"""


def docs() -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(SOUND) if d]


def kind(all_docs: list[dict[str, Any]], name: str) -> dict[str, Any]:
    return next(d for d in all_docs if d["kind"] == name)


def problems(all_docs: list[dict[str, Any]]) -> list[str]:
    return (
        k8s.check_autoscaling(all_docs, 2, 50)
        + k8s.check_persistence(all_docs, ["db"])
        + k8s.check_ingress_tls(all_docs)
        + k8s.check_probes(all_docs)
    )


def test_sound_manifests_pass() -> None:
    assert problems(docs()) == []
    paths = [(p.probe, p.path) for p in k8s.http_probe_paths(docs())]
    assert paths == [("livenessProbe", "/live"), ("readinessProbe", "/ready")]


def test_each_broken_part_fails() -> None:
    no_hpa = [d for d in docs() if d["kind"] != "HorizontalPodAutoscaler"]
    assert problems(no_hpa) == ["no HorizontalPodAutoscaler: nothing scales the app"]

    bounds = docs()
    kind(bounds, "HorizontalPodAutoscaler")["spec"].update(minReplicas=1, maxReplicas=500)
    assert [p for p in problems(bounds) if "minReplicas 1" in p or "maxReplicas 500" in p]

    no_request = docs()
    kind(no_request, "Deployment")["spec"]["template"]["spec"]["containers"][0]["resources"] = {}
    assert "request no CPU" in problems(no_request)[0]

    ephemeral = docs()
    del kind(ephemeral, "StatefulSet")["spec"]["volumeClaimTemplates"]
    assert "mounts no persistent volume" in problems(ephemeral)[0]

    plain = docs()
    del kind(plain, "Ingress")["spec"]["tls"]
    assert "no tls section" in problems(plain)[0]

    unprobed = docs()
    del kind(unprobed, "Deployment")["spec"]["template"]["spec"]["containers"][0]["livenessProbe"]
    assert "has no livenessProbe" in problems(unprobed)[0]


def test_a_claim_mounted_from_the_pod_counts_as_persistent() -> None:
    all_docs = docs()
    db = kind(all_docs, "StatefulSet")
    del db["spec"]["volumeClaimTemplates"]
    db["spec"]["template"]["spec"]["volumes"] = [
        {"name": "data", "persistentVolumeClaim": {"claimName": "db-data"}}
    ]
    claim = {"kind": "PersistentVolumeClaim", "metadata": {"name": "db-data"}}
    assert k8s.check_persistence([*all_docs, claim], ["db"]) == []
    empty = copy.deepcopy(all_docs)
    kind(empty, "StatefulSet")["spec"]["template"]["spec"]["volumes"] = [
        {"name": "data", "emptyDir": {}}
    ]
    assert k8s.check_persistence(empty, ["db"])


def test_load_reads_a_folder_through_the_view(tmp_path: Path) -> None:
    (tmp_path / "deploy").mkdir()
    (tmp_path / "deploy" / "all.yaml").write_text(SOUND)
    (tmp_path / "deploy" / "bad.yml").write_text("a: [")
    manifests = k8s.load(FileView(root=tmp_path), ["deploy"])
    assert [len(m.docs) for m in manifests] == [4, 0]
    assert manifests[1].error and manifests[1].error.startswith("deploy/bad.yml")
