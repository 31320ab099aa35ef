"""A fake Kubernetes API server on 127.0.0.1, serving just what `tdengine.kube.KubernetesApi` uses.

Real Kubernetes JSON shapes, read from any `KubeOps` backend (`list_pods`, `list_pvcs`, `delete_pvc`) for
the one namespace, StatefulSet and volumeClaimTemplates it was configured with:

    GET    /api/v1/namespaces/{ns}/pods                          PodList
    GET    /api/v1/namespaces/{ns}/persistentvolumeclaims        PersistentVolumeClaimList
    DELETE /api/v1/namespaces/{ns}/persistentvolumeclaims/{name} the PVC, or a 404 Status
    GET    /api/v1/namespaces/{ns}/pods/{pod}/portforward?ports=N   WebSocket (v4.channel.k8s.io), see kube_api_ws.py
    GET    /api/v1/namespaces/{ns}/pods/{pod}/exec?command=..       WebSocket, see kube_api_exec.py (`exec_in_pod`)
    DELETE /api/v1/namespaces/{ns}/pods/{name}                      the backend's `delete_pod`, or a 404 Status
    POST   /api/v1/namespaces/{ns}/secrets, GET/PUT/DELETE .../secrets/{name}   Secrets, kept by the server itself

Anything else is a 404 Status; a wrong bearer token is a 401 Status. `fail(path, code)` makes one path answer
an error Status (403 by default). `requests` records every request as (method, path without query).
Other namespaces look empty, as a namespace without objects does on a real server. The backend's own
`port_forward` is not used: a port-forward stream is bridged to the TCP address `target_for(pod, port)`.

Over 300 lines: one HTTP server for every route the client uses, sharing its state and Status bodies.
"""

from __future__ import annotations

import base64
import json
import re
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from components.tdengine.kube_types import KubeOps, PodInfo, PvcInfo

from .kube_api_exec import serve_exec
from .kube_api_ws import serve_port_forward

TIMESTAMP = "2024-01-01T00:00:00Z"
_REASONS = {400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound", 409: "Conflict"}
_ROUTE = re.compile(
    r"/api/v1/namespaces/([^/]+)/(pods|persistentvolumeclaims|secrets)(?:/([^/]+))?(/portforward|/exec)?"
)


def kubeconfig_for(url: str, token: str = "fake-token", namespace: str = "default") -> str:
    """A kubeconfig (YAML) whose current context points at `url` with a bearer token."""
    return (
        "apiVersion: v1\nkind: Config\n"
        f"clusters:\n- name: fake\n  cluster:\n    server: {url}\n"
        f"contexts:\n- name: fake\n  context:\n    cluster: fake\n    user: fake\n    namespace: {namespace}\n"
        "current-context: fake\n"
        f"users:\n- name: fake\n  user:\n    token: {token}\n"
    )


def status_object(code: int, message: str, name: str = "", kind: str = "") -> dict[str, Any]:
    """A `Status` failure as the API server sends it."""
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": _REASONS.get(code, "InternalError"),
        "details": {"name": name, "kind": kind},
        "code": code,
    }


def pod_object(namespace: str, statefulset: str, pod: PodInfo) -> dict[str, Any]:
    metadata: dict[str, Any] = {
        "name": pod.name,
        "namespace": namespace,
        "uid": pod.uid or f"uid-{pod.name}",
        "creationTimestamp": TIMESTAMP,
        "labels": {"app.kubernetes.io/name": statefulset, "statefulset.kubernetes.io/pod-name": pod.name},
    }
    if pod.deleting:
        metadata["deletionTimestamp"] = TIMESTAMP
        metadata["deletionGracePeriodSeconds"] = 30
    ready = "True" if pod.ready else "False"
    return {
        "metadata": metadata,
        "spec": {"containers": [{"name": "tdengine", "image": "tdengine/tdengine"}], "hostname": pod.name},
        "status": {
            "phase": pod.phase,
            "conditions": [
                {"type": "PodScheduled", "status": "True", "lastTransitionTime": TIMESTAMP},
                {"type": "Ready", "status": ready, "lastTransitionTime": TIMESTAMP},
            ],
        },
    }


def pvc_object(namespace: str, pvc: PvcInfo) -> dict[str, Any]:
    return {
        "metadata": {
            "name": pvc.name,
            "namespace": namespace,
            "uid": f"uid-{pvc.name}",
            "creationTimestamp": TIMESTAMP,
            "finalizers": ["kubernetes.io/pvc-protection"],
        },
        "spec": {
            "accessModes": ["ReadWriteOnce"],
            "resources": {"requests": {"storage": "1Gi"}},
            "volumeName": f"pvc-{pvc.name}",
        },
        "status": {"phase": "Bound", "accessModes": ["ReadWriteOnce"], "capacity": {"storage": "1Gi"}},
    }


class FakeKubeApi:
    """The server; use as a context manager or call `close()`. `url` is `http://127.0.0.1:<port>`."""

    def __init__(
        self,
        backend: KubeOps,
        namespace: str,
        statefulset: str,
        templates: list[str],
        token: str = "fake-token",
        forward_to: tuple[str, int] | None = None,
    ) -> None:
        self.backend = backend
        self.namespace = namespace
        self.statefulset = statefulset
        self.templates = list(templates)
        self.token = token
        self.forward_to = forward_to
        """Default TCP target of every port-forward; `forward_targets[(pod, port)]` overrides it."""
        self.forward_targets: dict[tuple[str, int], tuple[str, int]] = {}
        self.exit_as_internal_error = False
        """Report an exec's non-zero exit as kwok does: an InternalError Status without an exit code."""
        self.requests: list[tuple[str, str]] = []
        self.failures: dict[str, tuple[int, str]] = {}
        self.secrets: dict[tuple[str, str], dict[str, Any]] = {}
        """(namespace, name) -> the Secret object as stored (data base64-encoded), in any namespace."""
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._httpd.daemon_threads = True
        self.open_connections: set[Any] = set()
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, args=(0.05,), name="fake-kube-api", daemon=True
        )
        self._thread.start()

    def kubeconfig(self) -> str:
        return kubeconfig_for(self.url, self.token, self.namespace)

    def fail(self, path: str, code: int = 403, message: str | None = None) -> None:
        """Answer every request for exactly `path` with an error Status until `failures` is cleared."""
        self.failures[path] = (code, message or f"fake failure for {path}")

    def target_for(self, pod: str, port: int) -> tuple[str, int] | None:
        return self.forward_targets.get((pod, port), self.forward_to)

    def record(self, method: str, path: str) -> None:
        with self._lock:
            self.requests.append((method, path))

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        for conn in list(self.open_connections):
            try:
                conn.close()
            except OSError:
                pass

    def __enter__(self) -> FakeKubeApi:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _handler_for(api: FakeKubeApi) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            self._route("GET")

        def do_DELETE(self) -> None:
            self._route("DELETE")

        def do_POST(self) -> None:
            self._route("POST")

        def do_PATCH(self) -> None:
            self._route("PATCH")

        def do_PUT(self) -> None:
            self._route("PUT")

        def _send(self, code: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(code, HTTPStatus(code).phrase)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _route(self, method: str) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            url = urlsplit(self.path)
            api.record(method, url.path)
            if self.headers.get("Authorization") != f"Bearer {api.token}":
                self._send(401, status_object(401, "Unauthorized"))
                return
            if url.path in api.failures:
                code, message = api.failures[url.path]
                self._send(code, status_object(code, message))
                return
            m = _ROUTE.fullmatch(url.path)
            if m is None:
                self._send(404, status_object(404, "the server could not find the requested resource"))
                return
            namespace, resource, name, forward = m.groups()
            mine = namespace == api.namespace
            if resource == "secrets" and not forward:
                code, answer = _secrets(api, method, namespace, name, body)
                self._send(code, answer)
                return
            if resource == "pods" and name is None and method == "GET":
                pods = api.backend.list_pods(namespace, api.statefulset) if mine else []
                items = [pod_object(namespace, api.statefulset, p) for p in pods]
                self._send(200, _list("PodList", items))
            elif resource == "persistentvolumeclaims" and name is None and method == "GET":
                pvcs = api.backend.list_pvcs(namespace, api.statefulset, api.templates) if mine else []
                self._send(200, _list("PersistentVolumeClaimList", [pvc_object(namespace, p) for p in pvcs]))
            elif resource == "persistentvolumeclaims" and name and not forward and method == "DELETE":
                pvcs = api.backend.list_pvcs(namespace, api.statefulset, api.templates) if mine else []
                found = [p for p in pvcs if p.name == name]
                if not found:
                    message = f'persistentvolumeclaims "{name}" not found'
                    self._send(404, status_object(404, message, name, "persistentvolumeclaims"))
                    return
                api.backend.delete_pvc(namespace, name)
                obj = pvc_object(namespace, found[0])
                obj["metadata"]["deletionTimestamp"] = TIMESTAMP
                self._send(200, obj)
            elif resource == "pods" and name and not forward and method == "DELETE" and _has(api, "delete_pod"):
                pods = {p.name: p for p in api.backend.list_pods(namespace, api.statefulset)} if mine else {}
                if name not in pods:
                    self._send(404, status_object(404, f'pods "{name}" not found', name, "pods"))
                    return
                api.backend.delete_pod(namespace, name)
                obj = pod_object(namespace, api.statefulset, pods[name])
                obj["metadata"]["deletionTimestamp"] = TIMESTAMP
                self._send(200, obj)
            elif resource == "pods" and name and forward == "/exec" and _has(api, "exec_in_pod"):
                pods = api.backend.list_pods(namespace, api.statefulset) if mine else []
                if name not in {p.name for p in pods}:
                    self._send(404, status_object(404, f'pods "{name}" not found', name, "pods"))
                    return
                query = parse_qs(url.query)
                command = query.get("command", [])
                self.close_connection = True
                backend = api.backend

                def run(stdin: str) -> tuple[int, str, str]:
                    result = backend.exec_in_pod(namespace, name, command, stdin)
                    return result.exit_code, result.stdout, result.stderr

                want_stdin = query.get("stdin", ["false"])[0].lower() in ("true", "1")
                serve_exec(self, command, want_stdin, run, api.exit_as_internal_error)
            elif resource == "pods" and name and forward == "/portforward" and method == "GET":
                pods = api.backend.list_pods(namespace, api.statefulset) if mine else []
                if name not in {p.name for p in pods}:
                    self._send(404, status_object(404, f'pods "{name}" not found', name, "pods"))
                    return
                ports = parse_qs(url.query).get("ports", [""])[0]
                if not ports.isdigit():
                    self._send(400, status_object(400, "query parameter ports must be one port number"))
                    return
                if self.headers.get("Upgrade", "").lower() != "websocket":
                    self._send(400, status_object(400, "Upgrade request required"))
                    return
                self.close_connection = True
                api.open_connections.add(self.connection)
                try:
                    serve_port_forward(self, int(ports), api.target_for(name, int(ports)), f"{namespace}/{name}")
                finally:
                    api.open_connections.discard(self.connection)
            else:
                self._send(404, status_object(404, "the server could not find the requested resource"))

    return Handler


def _secrets(
    api: FakeKubeApi, method: str, namespace: str, name: str | None, body: bytes
) -> tuple[int, dict[str, Any]]:
    """Create, read, replace and delete Secrets as the API server does (stringData folded into data)."""
    if (name is None and method != "POST") or (name is not None and method not in ("GET", "PUT", "DELETE")):
        return 405, status_object(405, "method not allowed")
    key = (namespace, name or "")
    if method in ("POST", "PUT"):
        obj = json.loads(body or b"{}")
        meta = obj.get("metadata") or {}
        key = (namespace, str(meta.get("name") or name or ""))
        data = dict(obj.get("data") or {})
        data.update({k: base64.b64encode(v.encode()).decode() for k, v in (obj.get("stringData") or {}).items()})
        stored = {
            "kind": "Secret",
            "apiVersion": "v1",
            "metadata": {**meta, "namespace": namespace, "uid": f"uid-secret-{key[1]}", "creationTimestamp": TIMESTAMP},
            "type": obj.get("type") or "Opaque",
            "data": data,
        }
        with api._lock:
            exists = key in api.secrets
            if method == "POST" and exists:
                return 409, status_object(409, f'secrets "{key[1]}" already exists', key[1], "secrets")
            if method == "PUT" and not exists:
                return 404, status_object(404, f'secrets "{key[1]}" not found', key[1], "secrets")
            api.secrets[key] = stored
        return (201 if method == "POST" else 200), stored
    with api._lock:
        found = api.secrets.get(key)
        if found is not None and method == "DELETE":
            del api.secrets[key]
    if found is None:
        return 404, status_object(404, f'secrets "{key[1]}" not found', key[1], "secrets")
    return 200, found


def _has(api: FakeKubeApi, method: str) -> bool:
    """Whether the backend implements this `PodOps` method (the membership tests' stores do not)."""
    return callable(getattr(api.backend, method, None))


def _list(kind: str, items: list[dict[str, Any]]) -> dict[str, Any]:
    return {"kind": kind, "apiVersion": "v1", "metadata": {"resourceVersion": "1"}, "items": items}
