"""`KubernetesApi`: the only module that talks to Kubernetes.

It implements `kube_types.KubeOps` with the official `kubernetes` client: list the StatefulSet's pods and
PVCs, delete a PVC, port-forward to a pod (`kube_forward.py`), and read, write and delete the Secret a
kept-data destroy leaves; and `kube_types.PodOps` for `verify`: exec in a pod, delete a pod. It is
configured only from a kubeconfig (path or content) and context, or in-cluster config, so the same code runs
against any API server, a test one included.

Each instance owns a private `ApiClient`, created on first use (constructing does no I/O) and never stored
in the client's global default configuration. Every API failure becomes a `KubeError` that names what was
asked (namespace, object, port) and the HTTP status; messages never carry tokens or kubeconfig content: an API
exception, whose text quotes headers and body, is chained only as a `RedactedCause` with the status and reason.
"""

from __future__ import annotations

import base64
import json
import os
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import urllib3
import yaml
from kubernetes import client, config
from kubernetes.client.rest import ApiException
from kubernetes.stream import portforward

from components.tdengine import kube_forward
from components.tdengine.errors import ExecFailed, KubeError, RedactedCause
from components.tdengine.kube_exec import ExecIncomplete, exit_code, run_exec
from components.tdengine.kube_types import ExecResult, PodInfo, PvcInfo
from components.tdengine.naming import pod_ordinal, pvc_ordinal

T = TypeVar("T")
REVISION_LABEL = "controller-revision-hash"
"""The label the StatefulSet controller puts on each pod: the revision of the template it was created from."""
_HANDSHAKE_STATUS = re.compile(r"Handshake status (\d{3})")
_STATUS_MESSAGE = re.compile(r'"message":\s*"((?:[^"\\]|\\.)*)"')


class KubernetesApi:
    """`KubeOps` over the official client. Thread-safe; picklable (the client is rebuilt on first use)."""

    def __init__(self, kubeconfig: str | None = None, context: str | None = None, *, timeout: float = 30.0) -> None:
        self._kubeconfig = kubeconfig
        self._context = context
        self._timeout = timeout
        self._lock = threading.Lock()
        self._client: client.ApiClient | None = None

    def __getstate__(self) -> dict[str, Any]:
        return {"kubeconfig": self._kubeconfig, "context": self._context, "timeout": self._timeout}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self._kubeconfig, self._context, self._timeout = state["kubeconfig"], state["context"], state["timeout"]
        self._lock = threading.Lock()
        self._client = None

    def list_pods(self, namespace: str, statefulset: str) -> list[PodInfo]:
        pods = self._call(
            f"list pods in namespace {namespace!r}",
            lambda api: api.list_namespaced_pod(namespace, _request_timeout=self._timeout),
        )
        found = []
        for pod in pods.items:
            ordinal = pod_ordinal(pod.metadata.name, statefulset)
            if ordinal is None:
                continue
            conditions = (pod.status and pod.status.conditions) or []
            ready = any(c.type == "Ready" and c.status == "True" for c in conditions)
            phase = (pod.status and pod.status.phase) or "Unknown"
            deleting = pod.metadata.deletion_timestamp is not None
            revision = (pod.metadata.labels or {}).get(REVISION_LABEL, "")
            started = pod.status.start_time.timestamp() if pod.status and pod.status.start_time else 0.0
            uid = pod.metadata.uid or ""
            found.append(
                PodInfo(pod.metadata.name, ordinal, ready, phase, deleting, uid, revision, _waiting(pod), started)
            )
        return sorted(found, key=lambda p: p.ordinal)

    def list_pvcs(self, namespace: str, statefulset: str, templates: list[str]) -> list[PvcInfo]:
        return [
            PvcInfo(pvc.metadata.name, template=template, ordinal=ordinal)
            for pvc, template, ordinal in self._statefulset_pvcs(namespace, statefulset, templates)
        ]

    def _statefulset_pvcs(self, namespace: str, statefulset: str, templates: list[str]) -> list[tuple[Any, str, int]]:
        """The PVCs of the StatefulSet's volumeClaimTemplates, with their template and ordinal, in that order."""
        pvcs = self._call(
            f"list persistentvolumeclaims in namespace {namespace!r}",
            lambda api: api.list_namespaced_persistent_volume_claim(namespace, _request_timeout=self._timeout),
        )
        found = []
        for pvc in pvcs.items:
            match = pvc_ordinal(pvc.metadata.name, statefulset, templates)
            if match is not None:
                found.append((pvc, match[0], match[1]))
        return sorted(found, key=lambda f: (f[2], f[1]))

    def delete_pvc(self, namespace: str, name: str) -> None:
        try:
            self._call(
                f"delete persistentvolumeclaim {namespace}/{name}",
                lambda api: api.delete_namespaced_persistent_volume_claim(
                    name, namespace, _request_timeout=self._timeout
                ),
            )
        except KubeError as e:
            if e.status != 404:  # already gone: the delete is idempotent
                raise

    def read_secret(self, namespace: str, name: str) -> dict[str, str] | None:
        try:
            secret = self._call(
                f"read secret {namespace}/{name}",
                lambda api: api.read_namespaced_secret(name, namespace, _request_timeout=self._timeout),
            )
        except KubeError as e:
            if e.status == 404:
                return None
            raise
        return {k: base64.b64decode(v).decode() for k, v in (secret.data or {}).items()}

    def write_secret(self, namespace: str, name: str, data: dict[str, str], labels: dict[str, str]) -> None:
        body = client.V1Secret(
            metadata=client.V1ObjectMeta(name=name, namespace=namespace, labels=labels), type="Opaque", string_data=data
        )
        try:
            self._call(
                f"create secret {namespace}/{name}",
                lambda api: api.create_namespaced_secret(namespace, body, _request_timeout=self._timeout),
            )
        except KubeError as e:
            if e.status != 409:
                raise
            self._call(
                f"replace secret {namespace}/{name}",
                lambda api: api.replace_namespaced_secret(name, namespace, body, _request_timeout=self._timeout),
            )

    def delete_secret(self, namespace: str, name: str) -> None:
        try:
            self._call(
                f"delete secret {namespace}/{name}",
                lambda api: api.delete_namespaced_secret(name, namespace, _request_timeout=self._timeout),
            )
        except KubeError as e:
            if e.status != 404:
                raise

    def delete_pod(self, namespace: str, name: str) -> None:
        self._call(
            f"delete pod {namespace}/{name}",
            lambda api: api.delete_namespaced_pod(name, namespace, _request_timeout=self._timeout),
        )

    def exec_in_pod(
        self, namespace: str, pod: str, command: list[str], stdin: str = "", timeout: float = 600.0
    ) -> ExecResult:
        action = f"exec in pod {namespace}/{pod}"
        # `stream` swaps `api_client.request` while it connects: a client of its own, as for port-forward.
        api = client.CoreV1Api(client.ApiClient(self._api().api_client.configuration))
        try:
            out, err, status = self._translate(action, lambda: run_exec(api, namespace, pod, command, stdin, timeout))
        except ExecIncomplete as e:
            raise ExecFailed(action, str(e), e.stdout, e.stderr) from e
        finally:
            api.api_client.close()
        code = exit_code(status)
        if isinstance(code, str):  # the command ran: what it printed may say why there is no exit code
            raise ExecFailed(action, code, out, err)
        return ExecResult(code, out, err)

    @contextmanager
    def port_forward(self, namespace: str, pod: str, port: int) -> Iterator[str]:
        """Listen on 127.0.0.1:<free port>; each accepted connection gets its own port-forward stream."""
        action = f"port-forward to pod {namespace}/{pod} port {port}"
        # `kubernetes.stream` swaps `api_client.request` while it connects: give it a client of its own,
        # and connect one stream at a time, so concurrent list/delete calls on this instance are unaffected.
        api = client.CoreV1Api(client.ApiClient(self._api().api_client.configuration))
        dial_lock = threading.Lock()

        def dial() -> Any:
            with dial_lock:
                return self._translate(
                    action,
                    lambda: portforward(api.connect_get_namespaced_pod_portforward, pod, namespace, ports=str(port)),
                )

        dial().close()  # fail here, not on the first request, if the pod is missing or port-forward forbidden
        try:
            with kube_forward.serve(action, port, dial) as url:
                yield url
        finally:
            api.api_client.close()

    def _api(self) -> client.CoreV1Api:
        with self._lock:
            if self._client is None:
                self._client = self._translate("load Kubernetes configuration", self._new_client)
            return client.CoreV1Api(self._client)

    def _new_client(self) -> client.ApiClient:
        source = self._kubeconfig
        if source is not None and ("\n" in source or source.lstrip().startswith(("{", "apiVersion"))):
            try:
                loaded = yaml.safe_load(source)
            except yaml.YAMLError:  # its message quotes the offending line, which may hold a token
                loaded = None
            if not isinstance(loaded, dict):
                raise config.ConfigException("kubeconfig content is not a YAML/JSON mapping")
            return config.new_client_from_config_dict(loaded, context=self._context, persist_config=False)
        if source is None:
            paths = os.environ.get("KUBECONFIG") or os.path.expanduser("~/.kube/config")
            if not any(os.path.exists(p) for p in paths.split(os.pathsep) if p):
                configuration = client.Configuration()
                try:
                    config.load_incluster_config(client_configuration=configuration)
                except config.ConfigException as e:
                    raise config.ConfigException(f"no kubeconfig at {paths} and not running in a pod ({e})") from e
                return client.ApiClient(configuration)
            source = paths
        return config.new_client_from_config(source, context=self._context, persist_config=False)

    def _call(self, action: str, request: Callable[[client.CoreV1Api], T]) -> T:
        api = self._api()
        return self._translate(action, lambda: request(api))

    def _translate(self, action: str, request: Callable[[], T]) -> T:
        try:
            return request()
        except Exception as e:
            cause = _api_exception(e)
            if cause is not None:
                status, reason = _describe(cause)
                raise KubeError(action, status, reason) from RedactedCause(cause, f"HTTP {status}: {reason}")
            if isinstance(e, config.ConfigException):
                # The loader's messages name files, contexts and missing keys, not secret values.
                raise KubeError(action, 0, f"invalid configuration: {e}") from e
            if isinstance(e, OSError | ValueError | urllib3.exceptions.HTTPError):
                raise KubeError(action, 0, f"{type(e).__name__}: {e}") from e
            raise


def _waiting(pod: Any) -> str:
    """Why the pod's container is not running (`CrashLoopBackOff`, `ImagePullBackOff`, ...), else ''."""
    for status in (pod.status and pod.status.container_statuses) or []:
        waiting = status.state and status.state.waiting
        if waiting is not None and waiting.reason:
            return str(waiting.reason)
    return ""


def _api_exception(e: BaseException | None) -> ApiException | None:
    """The ApiException in `e`'s chain: a failed WebSocket handshake surfaces as an AttributeError raised
    while the client handles it (it decodes the exception's `body`, which is None)."""
    for _ in range(10):  # a bounded walk: a chain can in principle loop
        if e is None or isinstance(e, ApiException):
            return e
        e = e.__cause__ or e.__context__
    return None


def _describe(e: ApiException) -> tuple[int, str]:
    """(status, reason) of an API failure: the Status `message` when the server sent one, never the headers."""
    status, reason = int(e.status or 0), str(e.reason or "")
    if status == 0:  # a WebSocket handshake failure carries the HTTP status in its text
        m = _HANDSHAKE_STATUS.search(reason)
        status = int(m.group(1)) if m else 0
        m = _STATUS_MESSAGE.search(reason)  # the Status body is quoted in the text, after the headers
        message = m.group(1).replace('\\"', '"') if m else None
        reason = _HANDSHAKE_STATUS.sub("", reason.split(" -+-+- ")[0]).strip() or reason
    else:
        body = e.body.decode(errors="replace") if isinstance(e.body, bytes) else e.body
        try:
            message = json.loads(body or "").get("message")
        except (ValueError, AttributeError):
            message = None
    return status, f"{reason}: {message}" if message else reason
