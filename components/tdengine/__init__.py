"""Talking to one TDengine cluster on Kubernetes: no decisions, no Pulumi.

`rest.py` (SQL over taosAdapter REST), `sql.py` (statements and error codes), `rows.py` (typed rows),
`naming.py` (pods, FQDNs, endpoints), `session.py` (a connection that reopens its port-forward),
`wait.py` (the one wait primitive), `redact.py` (secrets out of messages), `errors.py`, and the Kubernetes
access: `kube_types.py` (the narrow interface), `kube.py`, `kube_forward.py`, `kube_exec.py` (the official
client). Used by the membership providers, `verify` and the operator's `status`; it imports nothing else of
`components` (enforced by the import-linter contracts in pyproject.toml).
"""
