"""Verification as code: the seed's manual cluster tests ("使能端口转发", "集群测试", "容错测试").

`checks.py` decides from parsed rows (pure), `report.py` formats (pure), `bench.py` builds the
taosBenchmark command and scrubs its output (pure), `failover.py` runs the failover test (I/O), `command.py`
is the `verify` command, `step.py` the `pulumi up` step that `resource.py` declares as a `local.Command`.
"""
