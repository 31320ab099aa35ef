"""Fixtures of the end-to-end tier: one local cluster per module: a control plane, the real node with real TDengine
pods (modules with `REAL = True`, `real.py`) or kwok and the simulator (`harness.py`), and a Pulumi project.

A missing tool is an error, never a skip: `scripts/e2e-tools` builds them. Each module's work directory
(logs of every process and every `pulumi` run, the file backend's state) is kept under pytest's basetemp;
a failing test's report ends with the tail of the control plane's logs and where the rest is.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.harness import STATEFULSET, E2ECluster
from tests.e2e.real import RealCluster
from tests.e2e.watch import ApiWatcher

_CLUSTER = pytest.StashKey[Any]()


@pytest.fixture(scope="module")
def e2e(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A module with `REAL = True` runs real TDengine in real pods on a real node (`real.py`); the others the
    simulator bound to kwok's pods (`harness.py`)."""
    module = request.module.__name__.rsplit(".", 1)[-1]
    workdir = tmp_path_factory.mktemp(module)
    options = getattr(request.module, "CLUSTER_OPTIONS", {})
    real = getattr(request.module, "REAL", False)
    cluster = RealCluster(workdir, **options) if real else E2ECluster(workdir, **options)
    request.config.stash[_CLUSTER] = cluster
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="module")
def watcher(e2e: Any) -> Iterator[ApiWatcher]:
    """Every shrink of the StatefulSet, deletion of a pod it no longer wants and PVC deletion, checked as it
    happens against `show dnodes`."""
    view = e2e.tdengine if isinstance(e2e, RealCluster) else e2e.sim
    w = ApiWatcher(view, str(e2e.plane.kubeconfig), e2e.namespace, STATEFULSET).start()
    yield w
    w.stop()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Iterator[None]:
    report = yield
    cluster = item.config.stash.get(_CLUSTER, None)
    if report.failed and cluster is not None and hasattr(cluster, "plane"):
        report.sections.append(("e2e logs", f"work directory: {cluster.workdir}\n{cluster.logs()}"))
        if isinstance(cluster, RealCluster):
            try:
                report.sections.append(("e2e pods", cluster.describe_pods()))
            except Exception as e:  # the control plane is what failed
                report.sections.append(("e2e pods", f"could not list the pods: {e}"))
    return report
