"""The program's side of the dynamic resources' inputs: each made from `ClusterArgs` and the same manifests
`pulumi up` applies, so a provider never judges another cluster than the one Kubernetes gets. The providers read
them back with `MembershipProps.from_inputs` and `ClusterShape.from_inputs`. Pure: no Pulumi, no I/O (the
component adds the two secrets as secret Outputs).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from components import manifests
from components.args import SETTINGS, ClusterArgs
from components.membership.props import MembershipProps
from components.rollout.shape import CLUSTER_WIDE, MAPPED_KEYS, TEMPLATE_KEYS, ClusterShape, Volume


def membership_props(args: ClusterArgs) -> MembershipProps:
    """DnodeDecommission's and ClusterMembership's inputs (RollingRestart's too): the desired member pods, names,
    connection and safety settings; no secret (`to_inputs` takes them)."""
    return MembershipProps(
        members=tuple(args.members),
        naming=args.naming,
        rest_port=args.rest_port,
        templates=tuple(manifests.volume_templates(args)),
        admin_url=args.admin_url,
        kube_context=args.kube_context,
        force_drop_offline=args.force_drop_offline,
        allow_fewer_than_three=args.allow_fewer_than_three,
        drain_timeout=args.drain_timeout,
        stall_timeout=args.stall_timeout,
        ready_timeout=args.ready_timeout,
        vnode_copy_mbps=args.vnode_copy_mbps,
        delete_data_on_destroy=args.delete_data_on_destroy,
        namespace_created=args.create_namespace,
    )


def template_hash(args: ClusterArgs) -> str:
    """The pod template's hash: what the StatefulSet controller revisions, so a change of it restarts pods."""
    template = manifests.statefulset(args)["spec"]["template"]
    return hashlib.sha256(json.dumps(template, sort_keys=True).encode()).hexdigest()[:16]


def template_settings(args: ClusterArgs) -> dict[str, str]:
    """The settings the pod template is made of, `key: value`, a map's entries as `key entry: value`
    (`taosSettings TAOS_NUM_OF_RPC_THREADS: 4`): what `classify.template_changes` names when the hash changes."""
    fields = {s.key: s.field for s in SETTINGS}
    found = {key: str(getattr(args, fields[key])) for key in TEMPLATE_KEYS}
    for key in MAPPED_KEYS:
        found.update({f"{key} {k}": str(v) for k, v in getattr(args, fields[key]).items()})
    return found


def shape_of(args: ClusterArgs) -> ClusterShape:
    spec = manifests.statefulset(args)["spec"]
    volumes = tuple(
        Volume(
            str(c["metadata"]["name"]),
            str(c["spec"]["resources"]["requests"]["storage"]),
            str(c["spec"].get("storageClassName", "")),
        )
        for c in spec["volumeClaimTemplates"]
    )
    return ClusterShape(
        image=args.image,
        template_hash=template_hash(args),
        volumes=volumes,
        pod_management_policy=args.pod_management_policy,
        timezone=args.timezone,
        cluster_settings={k: v for k, v in sorted(args.taos_settings.items()) if k in CLUSTER_WIDE},
        namespace=args.namespace,
        statefulset=args.cluster_name,
        service=args.service_name,
        cluster_domain=args.cluster_domain,
        server_port=args.server_port,
        rest_port=args.rest_port,
        replicas=args.replicas,
        create_namespace=args.create_namespace,
        delete_data_on_destroy=args.delete_data_on_destroy,
        allow_full_restart=args.allow_full_restart,
        template_settings=template_settings(args),
    )


def change_inputs(args: ClusterArgs) -> dict[str, Any]:
    """ClusterChange's inputs but the kubeconfig (the component adds it as a secret): the shape, the members,
    the Kubernetes context and the deadline of its waits. No password: it sends no SQL."""
    return {
        **shape_of(args).to_inputs(),
        "members": list(args.members),
        "readyTimeoutSeconds": args.ready_timeout,
        "kubeContext": args.kube_context,
    }


def rollout_inputs(args: ClusterArgs, membership_inputs: Mapping[str, Any], generation: Any) -> dict[str, Any]:
    """RollingRestart's inputs: the membership resources' (connection, password, timeouts) and what makes it run:
    the pod template, the image (for TDengine's upgrade rules), the acknowledgement, the StatefulSet's generation."""
    return {
        **membership_inputs,
        "templateHash": template_hash(args),
        "image": args.image,
        "allowFullRestart": args.allow_full_restart,
        "generation": generation,
        "templateSettings": template_settings(args),
    }
