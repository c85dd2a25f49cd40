"""Backends: what reaches the nodes and Kubernetes after a commit (base.py has the protocol)."""
