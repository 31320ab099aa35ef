"""tdengine-pulumi: a highly available TDengine cluster on Kubernetes, as a Pulumi component."""
