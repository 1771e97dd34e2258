"""SC-07: the Kubernetes manifests autoscale within sane bounds, keep stateful data on
persistent volumes, terminate TLS at the ingress and probe paths the running app serves.

The manifests are read through ``harness.probes.documents.FileView`` (a seeded variant that is
on is what is read); each httpGet probe path is asked of the running target with a GET.
"""

from __future__ import annotations

import pytest

from harness.loopback import source
from harness.probes import k8s
from harness.probes.bounded import fetch
from harness.probes.documents import file_view
from harness.verdicts import NotApplicable

pytestmark = pytest.mark.stack

SOURCE = source(63)
NOT_SERVED = {404, 405, 410}


@pytest.mark.control("SC-07")
def test_kubernetes_manifests(target, stack, evidence):
    settings = target.profile.roadmap.manifests
    if not settings.paths:
        raise NotApplicable("the profile names no Kubernetes manifests (roadmap.manifests.paths)")
    view = file_view(target.profile, stack)
    manifests = k8s.load(view, settings.paths)
    docs = [doc for m in manifests for doc in m.docs]
    problems = [m.error for m in manifests if m.error]
    if not docs:
        raise NotApplicable(
            f"no Kubernetes objects in {settings.paths} ({'; '.join(problems) or 'no YAML'})"
        )
    problems += k8s.check_autoscaling(docs, settings.min_replicas, settings.max_replicas)
    problems += k8s.check_persistence(docs, settings.stateful)
    problems += k8s.check_ingress_tls(docs)
    problems += k8s.check_probes(docs)
    probes = k8s.http_probe_paths(docs)
    answers: dict[str, int] = {}
    # Anonymous on purpose: the kubelet probes without credentials.
    with target.client(local_address=SOURCE) as client:
        for path in dict.fromkeys(p.path for p in probes):
            answers[path] = fetch(client, "GET", path, total_s=8).status
    for probe in probes:
        status = answers[probe.path]
        if status in NOT_SERVED:
            variant = next((m.variant for m in manifests if m.variant), None)
            problems.append(
                f"{probe.workload}/{probe.container} {probe.probe} GETs {probe.path}, which the "
                f"app answers {status}"
                + (f" (manifests as seeded by {variant})" if variant else "")
            )
    unanswered = sorted(path for path, status in answers.items() if status == 0)
    evidence.json(
        "Kubernetes manifests",
        {
            "overlays": view.describe(),
            "files": [m.model_dump(exclude={"docs"}) for m in manifests],
            "objects": [f"{d.get('kind')}/{(d.get('metadata') or {}).get('name')}" for d in docs],
            "http_probes": [p.model_dump() for p in probes],
            "probe_answers": answers,
            "unanswered": unanswered,
        },
    )
    evidence.figure("manifest objects checked", len(docs), "objects")
    assert not problems, (
        f"{len(problems)} problem(s) in {len(manifests)} manifest file(s), {len(docs)} objects: "
        + "; ".join(problems)
    )
    assert not unanswered, (
        f"probe paths {unanswered} got no answer from the target: not judged as served"
    )
