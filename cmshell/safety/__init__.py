"""Fleet-wide safety (docs/safety.md): `plan` and `commit check` over every node and Kubernetes
cluster, `commit confirmed` with an automatic rollback by a detached watcher, `drift`, and the
apply outcome of each commit in the journal."""
