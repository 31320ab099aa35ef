"""What `pulumi destroy` leaves when the data is kept, and how the next `pulumi up` finds it again.

Why: by default a destroy keeps the data: the PVCs, and the namespace the program created (retained, so
Kubernetes' namespace controller does not delete the PVCs with it). The data's root password lives in
TDengine's own files on those volumes, while the stack's record of it (a generated `RandomPassword`, or the
last rotation) is gone with the stack's state. So the destroy also keeps the password, in an unmanaged Secret
next to the PVCs; the next `up` tries it when the stack's password is refused, rotates the cluster to the
stack's password, and deletes the Secret.
"""

from __future__ import annotations

from components.tdengine.kube_types import KubeOps, PvcInfo
from components.tdengine.naming import Naming

PASSWORD_KEY = "TAOS_ROOT_PASSWORD"
KEPT_LABEL = "tdengine.io/kept-by-destroy"


def kept_secret_name(naming: Naming) -> str:
    return f"{naming.statefulset}-root-kept"


def kept_label(naming: Naming) -> str:
    """How messages name the Secret."""
    return f"the root password the last `pulumi destroy` kept (Secret {naming.namespace}/{kept_secret_name(naming)})"


def keep_password(kube: KubeOps, naming: Naming, password: str) -> None:
    labels = {"app.kubernetes.io/instance": naming.statefulset, KEPT_LABEL: "true"}
    kube.write_secret(naming.namespace, kept_secret_name(naming), {PASSWORD_KEY: password}, labels)


def kept_password(kube: KubeOps, naming: Naming) -> str | None:
    data = kube.read_secret(naming.namespace, kept_secret_name(naming))
    return (data or {}).get(PASSWORD_KEY) or None


def forget_password(kube: KubeOps, naming: Naming) -> None:
    kube.delete_secret(naming.namespace, kept_secret_name(naming))


def kept_message(naming: Naming, pvcs: list[PvcInfo], namespace_created: bool) -> str:
    """Pure: the destroy's last line, naming what is left and the one command that removes it."""
    ns = naming.namespace
    volumes = ", ".join(p.name for p in pvcs) or "none found"
    secret = kept_secret_name(naming)
    if namespace_created:
        where = f"namespace {ns} (retained), its PVCs ({volumes}) and Secret {secret} (the data's root password)"
        remove = f"kubectl delete namespace {ns}"
    else:
        where = f"in namespace {ns}: the PVCs ({volumes}) and Secret {secret} (the data's root password)"
        names = " ".join(p.name for p in pvcs) or f"-l app.kubernetes.io/instance={naming.statefulset}"
        remove = f"kubectl -n {ns} delete pvc {names} && kubectl -n {ns} delete secret {secret}"
    return (
        f"destroy kept the data (deleteDataOnDestroy is false): {where}. The next `pulumi up` of this stack "
        f"uses them again. To delete the data for good: {remove}"
    )
