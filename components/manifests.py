"""Pure builders: ClusterArgs -> Kubernetes objects as plain camelCase dicts.

Used by the Pulumi component and by the offline render alike, so what `render` prints is exactly
what `pulumi up` applies. No Pulumi, no I/O. The root password is a parameter: the component passes
a secret Output, the renderer a redaction marker.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from components import pod_spec, startup
from components.args import ClusterArgs

DATA_VOLUME = "taosdata"
LOG_VOLUME = "taoslog"
START_VOLUME = "start"
PASSWORD_KEY = "TAOS_ROOT_PASSWORD"

Manifest = dict[str, Any]


def labels(args: ClusterArgs) -> dict[str, str]:
    """Common labels of every object: the seed's `app: tdengine`, the recommended app.kubernetes.io set, user
    labels. Not the version: on every object it made an image change preview as an update of all of them."""
    return {
        **args.labels,
        **args.labels_selector,
        "app.kubernetes.io/component": "database",
        "app.kubernetes.io/part-of": "tdengine",
        "app.kubernetes.io/managed-by": "pulumi",
    }


def versioned_labels(args: ClusterArgs) -> dict[str, str]:
    """The labels of what runs the image, the StatefulSet and its pods: the common ones and
    `app.kubernetes.io/version`, the image's tag."""
    return {**labels(args), "app.kubernetes.io/version": args.image.rsplit("@", 1)[0].rsplit(":", 1)[-1]}


def _metadata(args: ClusterArgs, name: str, namespaced: bool = True) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "labels": labels(args)}
    if namespaced:
        meta["namespace"] = args.namespace
    if args.annotations:
        meta["annotations"] = dict(args.annotations)
    return meta


def config_map_name(args: ClusterArgs) -> str:
    return f"{args.cluster_name}-taoscfg"


def start_config_map_name(args: ClusterArgs) -> str:
    return f"{args.cluster_name}-start"


def secret_name(args: ClusterArgs) -> str:
    return f"{args.cluster_name}-root"


def client_service_name(args: ClusterArgs) -> str:
    return f"{args.service_name}-client"


def first_endpoint(args: ClusterArgs) -> str:
    """`firstEp`: the endpoint of pod 0's dnode."""
    return args.naming.endpoint(args.naming.pod(0))


POD_SECURITY = {
    "pod-security.kubernetes.io/enforce": "baseline",
    "pod-security.kubernetes.io/audit": "restricted",
}
"""Pod Security Standards of a namespace the program creates: `baseline` is enforced, because the official image
runs as root (below); `restricted` is audited, so the cluster's audit log shows what would fail it."""


def namespace(args: ClusterArgs) -> Manifest:
    meta = _metadata(args, args.namespace, namespaced=False)
    meta["labels"] = {**meta["labels"], **POD_SECURITY}
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": meta}


def _ports(args: ClusterArgs, container: bool) -> list[dict[str, Any]]:
    """Named after the port they carry (the seed's `tcp6030`/`tcp6041` at the default ports)."""
    key = "containerPort" if container else "port"
    return [
        {"name": f"tcp{args.server_port}", "protocol": "TCP", key: args.server_port},
        {"name": f"tcp{args.rest_port}", "protocol": "TCP", key: args.rest_port},
    ]


def headless_service(args: ClusterArgs) -> Manifest:
    """The governing Service: headless so every pod gets a DNS name, resolvable before it is Ready."""
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": _metadata(args, args.service_name),
        "spec": {
            "clusterIP": "None",
            "publishNotReadyAddresses": True,
            "ports": _ports(args, container=False),
            "selector": args.labels_selector,
        },
    }


def client_service(args: ClusterArgs) -> Manifest:
    """A ClusterIP Service for applications: load-balances over Ready pods only."""
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": _metadata(args, client_service_name(args)),
        "spec": {"type": "ClusterIP", "ports": _ports(args, container=False), "selector": args.labels_selector},
    }


def config_map(args: ClusterArgs) -> Manifest:
    """TAOS_* settings; taosd turns each TAOS_X_Y variable into the taos.cfg key xY."""
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": _metadata(args, config_map_name(args)),
        "data": dict(sorted(args.taos_settings.items())),
    }


def start_config_map(args: ClusterArgs) -> Manifest:
    """The container's start-up script (components/startup.py): cluster-level steps that retry in the background
    instead of ending the container."""
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": _metadata(args, start_config_map_name(args)),
        "data": {startup.START_SCRIPT_KEY: startup.START_SCRIPT},
    }


def _checksum(data: dict[str, str]) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]


def root_secret(args: ClusterArgs, password: Any) -> Manifest:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": _metadata(args, secret_name(args)),
        "type": "Opaque",
        "stringData": {PASSWORD_KEY: password},
    }


def _env(args: ClusterArgs) -> list[dict[str, Any]]:
    """The seed's env, derived from one set of names; FQDNs use the configured cluster domain."""
    suffix = f"svc.{args.cluster_domain}"
    env: list[dict[str, Any]] = [
        {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
        {"name": "SERVICE_NAME", "value": args.service_name},
        {"name": "STS_NAME", "value": args.cluster_name},
        {"name": "STS_NAMESPACE", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
        {"name": "TZ", "value": args.timezone},
        {"name": "TAOS_SERVER_PORT", "value": str(args.server_port)},
        {
            "name": "TAOS_FIRST_EP",
            "value": f"$(STS_NAME)-0.$(SERVICE_NAME).$(STS_NAMESPACE).{suffix}:$(TAOS_SERVER_PORT)",
        },
        {"name": "TAOS_FQDN", "value": f"$(POD_NAME).$(SERVICE_NAME).$(STS_NAMESPACE).{suffix}"},
        # TDengine 3.3.6+ keeps a dnode's first-start settings in its data dir and ignores taos.cfg and TAOS_* on
        # later starts unless forceReadConfig is 1: without it a taosSettings change rolled the pods and changed
        # nothing (seen on real 3.3.7.5 pods: tests/e2e/test_day2.py). The stack's settings are the source of truth.
        {"name": "TAOS_FORCE_READ_CONFIG", "value": "1"},
        {"name": PASSWORD_KEY, "valueFrom": {"secretKeyRef": {"name": secret_name(args), "key": PASSWORD_KEY}}},
    ]
    if args.rest_port != 6041:
        env.append({"name": "TAOS_ADAPTER_PORT", "value": str(args.rest_port)})
    return env


def _claim(args: ClusterArgs, name: str, size: str) -> dict[str, Any]:
    spec: dict[str, Any] = {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": size}}}
    if args.storage_class:
        spec["storageClassName"] = args.storage_class
    return {"metadata": {"name": name, "labels": args.labels_selector}, "spec": spec}


def volume_templates(args: ClusterArgs) -> list[str]:
    """Names of the volumeClaimTemplates; PVCs are `<template>-<clusterName>-<ordinal>`."""
    return [DATA_VOLUME] + ([LOG_VOLUME] if args.log_storage_size else [])


STATEFULSET_ANNOTATIONS = {
    "pulumi.com/skipAwait": "true",
    "pulumi.com/deletionPropagationPolicy": "orphan",
}
"""How pulumi-kubernetes handles the StatefulSet: no await of its own (RollingRestart waits for the pods, and
can restart a pod a failed roll left down, which a readiness await would wait for until it timed out), and
deleting the object never deletes its pods (a replacement, the way an immutable field changes, adopts them; a
destroy's ClusterChange deletes them afterwards)."""


def statefulset(args: ClusterArgs) -> Manifest:
    mounts = [
        {"name": DATA_VOLUME, "mountPath": "/var/lib/taos"},
        {"name": START_VOLUME, "mountPath": startup.START_SCRIPT_DIR, "readOnly": True},
    ]
    claims = [_claim(args, DATA_VOLUME, args.storage_size)]
    if args.log_storage_size:
        mounts.append({"name": LOG_VOLUME, "mountPath": "/var/log/taos"})
        claims.append(_claim(args, LOG_VOLUME, args.log_storage_size))
    container: dict[str, Any] = {
        "name": "tdengine",
        "image": args.image,
        "imagePullPolicy": args.image_pull_policy,
        "command": startup.container_command(),
        "ports": _ports(args, container=True),
        "env": _env(args),
        "envFrom": [{"configMapRef": {"name": config_map_name(args)}}],
        "volumeMounts": mounts,
        "startupProbe": pod_spec.probe(failureThreshold=360, periodSeconds=10),
        "readinessProbe": pod_spec.probe(initialDelaySeconds=5, periodSeconds=10, timeoutSeconds=10),
        "livenessProbe": pod_spec.liveness(args),
        "lifecycle": {"preStop": {"exec": {"command": ["sh", "-c", pod_spec.STOP_TAOSD]}}},
        "securityContext": pod_spec.SECURITY_CONTEXT,
    }
    if resources := pod_spec.resources(args):
        container["resources"] = resources
    spec: dict[str, Any] = {
        "terminationGracePeriodSeconds": args.termination_grace_period,
        "securityContext": {"seccompProfile": {"type": "RuntimeDefault"}},
        "containers": [container],
        "volumes": [{"name": START_VOLUME, "configMap": {"name": start_config_map_name(args), "defaultMode": 0o555}}],
    }
    if affinity := pod_spec.affinity(args):
        spec["affinity"] = affinity
    if spread := pod_spec.spread(args):
        spec["topologySpreadConstraints"] = spread
    # A changed taoscfg or start-up script must restart the pods to take effect: hash them into the pod template.
    checksums = {
        "tdengine.io/taoscfg-checksum": _checksum(config_map(args)["data"]),
        "tdengine.io/start-checksum": _checksum(start_config_map(args)["data"]),
    }
    template_meta: dict[str, Any] = {
        "name": args.cluster_name,
        "labels": versioned_labels(args),
        "annotations": {**args.annotations, **checksums},
    }
    metadata = _metadata(args, args.cluster_name)
    metadata["labels"] = versioned_labels(args)
    metadata["annotations"] = {**metadata.get("annotations", {}), **STATEFULSET_ANNOTATIONS}
    return {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": metadata,
        "spec": {
            "serviceName": args.service_name,
            "replicas": args.replicas,
            "podManagementPolicy": args.pod_management_policy,
            # The controller restarts no pod by itself: `pulumi up` restarts them one at a time behind TDengine's
            # health gates (components/rollout).
            "updateStrategy": {"type": "OnDelete"},
            "selector": {"matchLabels": args.labels_selector},
            "template": {"metadata": template_meta, "spec": spec},
            "volumeClaimTemplates": claims,
        },
    }


def pod_disruption_budget(args: ClusterArgs) -> Manifest:
    """At most one dnode down by choice: 3 mnodes and replica-3 vgroups tolerate exactly one loss."""
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": _metadata(args, args.cluster_name),
        "spec": {"maxUnavailable": 1, "selector": {"matchLabels": args.labels_selector}},
    }


def all_manifests(args: ClusterArgs, password: Any) -> list[Manifest]:
    """Every object of the cluster, in apply order."""
    objects = [namespace(args)] if args.create_namespace else []
    objects += [root_secret(args, password), config_map(args), start_config_map(args), headless_service(args)]
    if args.client_service:
        objects.append(client_service(args))
    objects.append(statefulset(args))
    if args.pod_disruption_budget:
        objects.append(pod_disruption_budget(args))
    return objects
