"""TDengineCluster: the Pulumi component that declares a TDengine cluster on Kubernetes.

Only Pulumi wiring lives here: every object comes from the pure builders in `manifests.py`, so the
offline render and `pulumi up` cannot drift apart. Children are parented to the component and
inherit its Kubernetes provider from `opts`.
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

from components import manifests, resource_inputs
from components.args import ClusterArgs
from components.membership.provider import ClusterMembership, DnodeDecommission
from components.rollout.provider import ClusterChange
from components.rollout.restart_provider import RollingRestart

TYPE_TOKEN = "tdengine:index:Cluster"
CHANGE_ANNOTATION = "tdengine.io/cluster-change"

_GENERATED_SPECIALS = "-_+=.,:"
"""A subset of TDengine's password specials with no meaning to shells, URLs or `$(VAR)` expansion."""


class TDengineCluster(pulumi.ComponentResource):
    """A highly available TDengine cluster: Services, ConfigMap, Secret, StatefulSet and PDB."""

    namespace: pulumi.Output[str]
    """Namespace the cluster runs in."""
    service_name: pulumi.Output[str]
    """Headless governing Service; every dnode FQDN is `<pod>.<service>.<namespace>.svc.<domain>`."""
    first_endpoint: pulumi.Output[str]
    """`firstEp` of the cluster (pod 0)."""
    rest_url: pulumi.Output[str]
    """In-cluster taosAdapter REST URL."""
    pod_fqdns: pulumi.Output[list[str]]
    """FQDN of each dnode pod, by ordinal."""
    root_password: pulumi.Output[str]
    """The root password (secret): the configured one, or the generated one."""
    topology: pulumi.Output[dict[str, Any]]
    """Live dnodes (id, endpoint, status per pod) and mnodes (endpoint, role), from ClusterMembership."""

    def __init__(self, name: str, args: ClusterArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TYPE_TOKEN, name, {}, opts)
        self._name = name
        self.args = args
        child = pulumi.ResourceOptions(parent=self)
        password = self._root_password(child)

        # The runbook, in the order the engine runs it: each step depends on the ones above it.
        #   1. ClusterChange     what the change does: refuse an unsafe one, expand volumes  rollout/provider.py
        #   2. the Namespace, then the Secret, ConfigMaps and Services                       manifests.py
        #   3. DnodeDecommission drain the departing dnodes, rotate the root password        membership/provider.py
        #   4. the StatefulSet   (it may shrink only now)                                    manifests.py
        #   5. RollingRestart    restart the stale pods, one at a time behind the gates      rollout/restart_provider.py
        #   6. ClusterMembership join dnodes, keep 3 mnodes, reclaim released PVCs           membership/provider.py
        #   7. verify (`verify: true`) and the PodDisruptionBudget                           verify/resource.py
        # A refusal in any step (its Check, in preview) stops the run before the steps below it change anything.
        self.change = ClusterChange(f"{name}-change", self._change_props(), child)
        in_namespace = _after(child, self.change, *self._namespace(_after(child, self.change)))

        secret = self._object("root", manifests.root_secret(args, password), in_namespace)
        config = self._object("taoscfg", manifests.config_map(args), in_namespace)
        start = self._object("start", manifests.start_config_map(args), in_namespace)
        service = self._object("svc", manifests.headless_service(args), in_namespace)
        if args.client_service:
            self._object("client-svc", manifests.client_service(args), in_namespace)

        self.decommission = DnodeDecommission(f"{name}-decommission", self._membership_props(password), in_namespace)
        self.statefulset = self._object(
            "sts",
            self._statefulset_manifest(),
            _after(in_namespace, secret, config, start, service, self.change, self.decommission),
        )
        generation = self.statefulset.metadata.apply(_generation)  # type: ignore[attr-defined]
        self.rollout = RollingRestart(
            f"{name}-rollout",
            resource_inputs.rollout_inputs(args, self._membership_props(password), generation),
            _after(in_namespace, self.statefulset),
        )
        self.membership = ClusterMembership(
            f"{name}-membership", self._membership_props(password), _after(in_namespace, self.statefulset, self.rollout)
        )
        if args.verify:
            self.verification = self._verify(in_namespace, password)
        if args.pod_disruption_budget:
            self._object("pdb", manifests.pod_disruption_budget(args), in_namespace)

        self.namespace = pulumi.Output.from_input(args.namespace)
        self.service_name = pulumi.Output.from_input(args.service_name)
        self.first_endpoint = pulumi.Output.from_input(manifests.first_endpoint(args))
        host = manifests.client_service_name(args) if args.client_service else args.service_name
        self.rest_url = pulumi.Output.from_input(
            f"http://{host}.{args.namespace}.svc.{args.cluster_domain}:{args.rest_port}"
        )
        self.pod_fqdns = pulumi.Output.from_input([args.naming.fqdn(pod) for pod in args.members])
        self.root_password = pulumi.Output.secret(password)
        self.topology = self.membership.topology
        # Recorded last: marks the component complete and stores its outputs in the state.
        self.register_outputs(
            {
                "namespace": self.namespace,
                "serviceName": self.service_name,
                "firstEndpoint": self.first_endpoint,
                "restUrl": self.rest_url,
                "podFqdns": self.pod_fqdns,
                "rootPassword": self.root_password,
                "topology": self.topology,
            }
        )

    def _namespace(self, opts: pulumi.ResourceOptions) -> list[pulumi.Resource]:
        """A destroy that keeps the data keeps the namespace too (`retain_on_delete`): deleting a namespace makes
        Kubernetes' namespace controller delete the PVCs in it. The next `up` takes the kept namespace back:
        the pinned pulumi-kubernetes creates objects by server-side apply, which adopts an existing one (from
        4.29 on, a create refuses an existing object unless the provider sets `upsertExistingObjects`; the
        end-to-end test of a destroy and a new `up` fails if an upgrade brings that in unnoticed)."""
        if not self.args.create_namespace:
            return []
        keep = pulumi.ResourceOptions(retain_on_delete=not self.args.delete_data_on_destroy)
        return [self._object("ns", manifests.namespace(self.args), pulumi.ResourceOptions.merge(opts, keep))]

    def _root_password(self, opts: pulumi.ResourceOptions) -> pulumi.Output[str]:
        """The configured password as a secret, or a generated one that meets TDengine's strong rule."""
        if self.args.root_password is not None:
            return pulumi.Output.secret(self.args.root_password)
        generated = random.RandomPassword(
            f"{self._name}-root-password",
            length=16,
            min_lower=2,
            min_upper=2,
            min_numeric=2,
            min_special=1,
            override_special=_GENERATED_SPECIALS,
            opts=opts,
        )
        return pulumi.Output.secret(generated.result)

    def _membership_props(self, password: pulumi.Output[str]) -> dict[str, Any]:
        """Inputs of both membership resources (`props.MembershipProps`, the one contract): the desired member
        pods, names, connection and safety settings; the two secrets as secret Outputs. A new dict for each
        resource: `dynamic.Resource` writes its own `__provider` into the dict it is given."""
        a = self.args
        props = resource_inputs.membership_props(a)
        kubeconfig = pulumi.Output.secret(a.kubeconfig) if a.kubeconfig else None
        return props.to_inputs(root_password=password, kubeconfig=kubeconfig)

    def _statefulset_manifest(self) -> dict[str, Any]:
        """The StatefulSet, with one annotation from ClusterChange's last run (`applied`, a counter): unknown in a
        preview that changes the cluster's shape, so pulumi-kubernetes previews the StatefulSet without its
        server-side dry-run, which for a replacement (an immutable field) would be refused: the object still
        exists in a preview; in `pulumi up` ClusterChange has deleted it (orphan) first."""
        manifest = manifests.statefulset(self.args)
        metadata = manifest["metadata"]
        metadata["annotations"] = {**metadata["annotations"], CHANGE_ANNOTATION: self.change.applied.apply(_counter)}
        return manifest

    def _change_props(self) -> dict[str, Any]:
        """Inputs of ClusterChange: the cluster's shape (what a change of it does), the members and Kubernetes
        access (it sends no SQL: no password)."""
        a = self.args
        props = resource_inputs.change_inputs(a)
        if a.kubeconfig:
            props["kubeconfig"] = pulumi.Output.secret(a.kubeconfig)
        return props

    def _verify(self, opts: pulumi.ResourceOptions, password: pulumi.Output[str]) -> pulumi.Resource:
        """`verify: true`: the seed's cluster tests as the last step of `pulumi up` (components/verify)."""
        from components.verify.resource import verification_command  # pulumi-command only when asked for

        return verification_command(self._name, self.args, password, self.membership.topology, self.membership, opts)

    def _object(self, suffix: str, manifest: dict[str, Any], opts: pulumi.ResourceOptions) -> pulumi.CustomResource:
        """Declare one manifest as its typed pulumi-kubernetes resource, named `<component>-<suffix>`."""
        kind = manifest["kind"]
        body = {k: v for k, v in manifest.items() if k not in ("apiVersion", "kind")}
        resource_name = f"{self._name}-{suffix}"
        if kind == "Namespace":
            return k8s.core.v1.Namespace(resource_name, **body, opts=opts)
        if kind == "Secret":
            return k8s.core.v1.Secret(
                resource_name,
                metadata=body["metadata"],
                type=body["type"],
                string_data=body["stringData"],
                opts=opts,
            )
        if kind == "ConfigMap":
            return k8s.core.v1.ConfigMap(resource_name, **body, opts=opts)
        if kind == "Service":
            return k8s.core.v1.Service(resource_name, **body, opts=opts)
        if kind == "StatefulSet":
            return k8s.apps.v1.StatefulSet(resource_name, **body, opts=opts)
        if kind == "PodDisruptionBudget":
            return k8s.policy.v1.PodDisruptionBudget(resource_name, **body, opts=opts)
        raise ValueError(f"no Pulumi resource type for kind {kind}")


def _after(opts: pulumi.ResourceOptions, *resources: pulumi.Resource) -> pulumi.ResourceOptions:
    """`opts`, also depending on `resources` (merged: the dependencies of `opts` stay)."""
    return pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=list(resources)))


def _generation(metadata: Any) -> int | None:
    """`metadata.generation` of the StatefulSet (a typed output, or a dict under mocks)."""
    value = metadata.get("generation") if isinstance(metadata, dict) else getattr(metadata, "generation", None)
    return int(value) if isinstance(value, int | float) else None


def _counter(value: Any) -> str | None:
    return str(int(value)) if isinstance(value, int | float) else None
