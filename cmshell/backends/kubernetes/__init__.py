"""Kubernetes backend (backend.py). Nothing here imports `kubernetes` at import time."""
