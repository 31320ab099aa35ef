"""Fixtures of the end-to-end tier: one local cluster (control plane, simulator, Pulumi project) per module.

A missing tool is an error, never a skip: `scripts/e2e-tools` builds them. Each module's work directory
(logs of every process and every `pulumi` run, the file backend's state) is kept under pytest's basetemp;
a failing test's report ends with the tail of the control plane's logs and where the rest is.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.harness import STATEFULSET, E2ECluster
from tests.e2e.watch import ApiWatcher

_CLUSTER = pytest.StashKey[E2ECluster]()


@pytest.fixture(scope="module")
def e2e(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[E2ECluster]:
    module = request.module.__name__.rsplit(".", 1)[-1]
    cluster = E2ECluster(tmp_path_factory.mktemp(module), **getattr(request.module, "CLUSTER_OPTIONS", {}))
    request.config.stash[_CLUSTER] = cluster
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="module")
def watcher(e2e: E2ECluster) -> Iterator[ApiWatcher]:
    """Every shrink of the StatefulSet and deletion of a pod it no longer wants, checked as it happens."""
    w = ApiWatcher(e2e.sim, str(e2e.plane.kubeconfig), e2e.namespace, STATEFULSET).start()
    yield w
    w.stop()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Iterator[None]:
    report = yield
    cluster = item.config.stash.get(_CLUSTER, None)
    if report.failed and cluster is not None and hasattr(cluster, "plane"):
        report.sections.append(("e2e logs", f"work directory: {cluster.workdir}\n{cluster.logs()}"))
    return report
