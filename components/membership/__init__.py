"""Cluster membership: the two dynamic resources that do the seed's runbook around the StatefulSet.

`props.py` (the inputs' contract), `plan.py` (pure decisions), `act.py` (one step's statement), `auth.py` (the
root password), `scale_in.py` (drain, release volumes), `converge.py` (join, mnodes), `retained.py` (what a
kept-data destroy leaves), `provider.py` (the Pulumi glue), `base.py` and `host_values.py` (what every provider,
these and rollout's, shares). Talking to the cluster is
`components.tdengine`'s job.
"""
