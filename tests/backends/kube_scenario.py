"""Fixtures of the Kubernetes backend scenarios: a Harness on the local kube-apiserver, or on any
real cluster when $CMSHELL_TEST_KUBECONFIG is set (the opt-in suite).

Import them into a test module (`from tests.backends.kube_scenario import *`): importing there,
not in conftest, keeps the infra tests on the local server's own `kube_client`.
"""
from __future__ import annotations

import os
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from kubernetes import client

from tests.backends.kube_helpers import Harness

__all__ = ["OPT_IN", "kubeconfig_file", "kube_client", "h", "v1", "deny"]

OPT_IN = os.environ.get("CMSHELL_TEST_KUBECONFIG")


@pytest.fixture(scope="session")
def kubeconfig_file(request) -> str:
    """$CMSHELL_TEST_KUBECONFIG (any real cluster: the opt-in suite), else the local server."""
    if OPT_IN:
        return OPT_IN
    return str(request.getfixturevalue("kube_api").kubeconfig)


@pytest.fixture(scope="session")
def kube_client(kubeconfig_file):
    """Overrides the infra fixture so that the same scenarios run against the opt-in cluster."""
    from kubernetes import config
    cfg = client.Configuration()
    config.load_kube_config(config_file=kubeconfig_file, client_configuration=cfg)
    cfg.refresh_api_key_hook = None
    api = client.ApiClient(cfg)
    yield api
    api.close()


@pytest.fixture
def h(tmp_path, kubeconfig_file):
    harness = Harness(tmp_path, kubeconfig_file)
    yield harness
    harness.store.close()


@pytest.fixture
def v1(kube_client):
    return client.CoreV1Api(kube_client)


@pytest.fixture
def deny(kube_client):
    """`with deny(resource, group, operation, cel)`: a ValidatingAdmissionPolicy that refuses the
    requests for which the CEL expression is false (403), until the block ends. The server
    itself refuses: the real way for a delete or an apply to fail."""
    adm = client.AdmissionregistrationV1Api(kube_client)

    @contextmanager
    def policy(resource: str, api_group: str, operation: str, expression: str,
               probe=None) -> Iterator[None]:
        name = f"cmshell-test-deny-{secrets.token_hex(4)}"
        adm.create_validating_admission_policy({"metadata": {"name": name}, "spec": {
            "failurePolicy": "Fail",
            "matchConstraints": {"resourceRules": [{
                "apiGroups": [api_group], "apiVersions": ["*"], "operations": [operation],
                "resources": [resource]}]},
            "validations": [{"expression": expression, "reason": "Forbidden",
                             "message": "denied by the test"}]}})
        adm.create_validating_admission_policy_binding({"metadata": {"name": name}, "spec": {
            "policyName": name, "validationActions": ["Deny"]}})
        _wait(probe, True)
        try:
            yield
        finally:
            adm.delete_validating_admission_policy_binding(name)
            adm.delete_validating_admission_policy(name)
            _wait(probe, False)
    return policy


def _wait(probe, denied: bool, timeout: float = 15.0) -> None:
    """The server takes a moment to see a new policy: poll `probe` (a dry-run call that raises
    403 while the policy is in force), or just wait a little without one."""
    if probe is None:
        time.sleep(2.0)
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            probe()
            now = False
        except client.ApiException as e:
            if e.status != 403:
                raise
            now = True
        if now == denied:
            return
        time.sleep(0.1)
    raise AssertionError(f"the admission policy did not {'start' if denied else 'stop'} in time")
