"""docs/changes.md's table of what changing each setting does to a live cluster: every setting declares its change,
the page's copy is `setting_docs.changes_table()`, and each setting's kind is what the classification decides for a
sample change of that setting alone."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from components.args import ALL_SETTINGS, ClusterArgs
from components.resource_inputs import shape_of
from components.rollout.classify import classify
from components.setting_docs import changes_table
from components.settings import Kind
from tests.harness import ROOT

BASE = ClusterArgs(
    namespace="tdengine-test", storage_class="standard", log_storage_size="1Gi", root_password="Aa1-xxxxxx"
)

SAMPLES: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "namespace": ({}, {"namespace": "other"}),
    "createNamespace": ({}, {"create_namespace": False}),
    "clusterName": ({}, {"cluster_name": "td2"}),
    "serviceName": ({}, {"service_name": "taos2"}),
    "clientService": ({}, {"client_service": True}),
    "replicas": ({}, {"replicas": 4}),
    "image": ({}, {"image": "tdengine/tdengine:3.3.7.6"}),
    "imagePullPolicy": ({}, {"image_pull_policy": "Always"}),
    "timezone": ({}, {"timezone": "Asia/Hong_Kong"}),
    "serverPort": ({}, {"server_port": 6130}),
    "restPort": ({}, {"rest_port": 6042}),
    "storageClass": ({}, {"storage_class": "fast"}),
    "storageSize": ({}, {"storage_size": "10Gi"}),
    "logStorageSize": ({}, {"log_storage_size": "2Gi"}),
    "cpuRequest": ({}, {"cpu_request": "1"}),
    "memoryRequest": ({}, {"memory_request": "2Gi"}),
    "cpuLimit": ({}, {"cpu_limit": "4"}),
    "memoryLimit": ({}, {"memory_limit": "8Gi"}),
    "taosSettings": ({}, {"taos_settings": {"TAOS_SUPPORT_VNODES": "32"}}),
    "podManagementPolicy": ({}, {"pod_management_policy": "OrderedReady"}),
    "antiAffinity": ({}, {"anti_affinity": "required"}),
    "zoneSpread": ({}, {"zone_spread": "none"}),
    "podDisruptionBudget": ({}, {"pod_disruption_budget": False}),
    "terminationGracePeriodSeconds": ({}, {"termination_grace_period": 600}),
    "labels": ({}, {"labels": {"team": "iot"}}),
    "annotations": ({}, {"annotations": {"example.com/owner": "me"}}),
    "clusterDomain": ({}, {"cluster_domain": "example.local"}),
    "kubeContext": ({}, {"kube_context": "prod"}),
    "adminUrl": ({}, {"admin_url": "http://taos:6041"}),
    "forceDropOffline": ({}, {"force_drop_offline": True}),
    "allowFewerThanThreeDnodes": ({}, {"allow_fewer_than_three": True}),
    "allowFullRestart": ({}, {"allow_full_restart": True}),
    "drainTimeoutSeconds": ({}, {"drain_timeout": 60}),
    "stallTimeoutSeconds": ({}, {"stall_timeout": 60}),
    "readyTimeoutSeconds": ({}, {"ready_timeout": 60}),
    "vnodeCopyMBps": ({}, {"vnode_copy_mbps": 1000}),
    "deleteDataOnDestroy": ({}, {"delete_data_on_destroy": True}),
    "verify": ({}, {"verify": True}),
    "verifyTables": ({}, {"verify_tables": 20}),
    "verifyRows": ({}, {"verify_rows": 200}),
    "verifyReplica": ({}, {"verify_replica": 1}),
    "rootPassword": ({}, {"root_password": "Bb2-yyyyyy"}),
    "kubeconfig": ({}, {"kubeconfig": "/tmp/other"}),
}


def test_every_setting_has_a_row_and_a_sample():
    keys = [s.key for s in ALL_SETTINGS]
    assert [line.split("`")[1] for line in changes_table().splitlines()[2:]] == keys
    assert set(SAMPLES) == set(keys)


@pytest.mark.parametrize("setting", ALL_SETTINGS, ids=lambda s: s.key)
def test_each_settings_kind_is_the_classification_of_a_sample_change(setting):
    base, change = SAMPLES[setting.key]
    old = dataclasses.replace(BASE, **base)
    plan = classify(shape_of(old), shape_of(dataclasses.replace(old, **change)))
    kind = setting.change.kind
    assert plan.kinds == (() if kind is Kind.NONE else (kind,)), plan.summary()


def test_the_documented_table_is_the_generated_one():
    page = (ROOT / "docs" / "changes.md").read_text(encoding="utf-8")
    after = page.split("<!-- changes-table -->\n", 1)[1]
    documented = after.split("\n\n", 1)[0]
    assert documented == changes_table(), "regenerate it: venv/bin/python -m components.setting_docs changes"
