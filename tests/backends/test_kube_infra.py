"""The kube-apiserver test infrastructure works with the real `kubernetes` Python client.

These check the server, not cmshell: server-side apply records field managers, a second
manager's conflicting apply is refused naming the owner, and a dry run stores nothing.
"""
from __future__ import annotations

import json

import pytest

pytest.importorskip("kubernetes")
from kubernetes.dynamic import DynamicClient  # noqa: E402
from kubernetes.dynamic.exceptions import ConflictError, NotFoundError  # noqa: E402


def configmap(name: str, namespace: str, **data: str) -> dict:
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": namespace}, "data": data}


@pytest.fixture
def configmaps(kube_client):
    return DynamicClient(kube_client).resources.get(api_version="v1", kind="ConfigMap")


def test_server_side_apply_records_cmshell_as_manager(configmaps, kube_namespace):
    cm = configmaps.server_side_apply(body=configmap("rack1", kube_namespace, rack="r1"),
                                      namespace=kube_namespace, field_manager="cmshell")
    assert cm.data.rack == "r1"
    managers = [m.to_dict() for m in cm.metadata.managedFields]  # ResourceField objects
    assert [(m["manager"], m["operation"]) for m in managers] == [("cmshell", "Apply")]
    # dropping a key from the applied config removes it from the object
    configmaps.server_side_apply(body=configmap("rack1", kube_namespace, rack="r1", row="a"),
                                 namespace=kube_namespace, field_manager="cmshell")
    cm = configmaps.server_side_apply(body=configmap("rack1", kube_namespace, row="a"),
                                      namespace=kube_namespace, field_manager="cmshell")
    assert cm.data.to_dict() == {"row": "a"}


def test_conflicting_apply_by_another_manager_is_refused(configmaps, kube_namespace):
    configmaps.server_side_apply(body=configmap("rack2", kube_namespace, rack="r2"),
                                 namespace=kube_namespace, field_manager="cmshell")
    with pytest.raises(ConflictError) as err:
        configmaps.server_side_apply(body=configmap("rack2", kube_namespace, rack="other"),
                                     namespace=kube_namespace, field_manager="someone-else")
    status = json.loads(err.value.body)
    assert (err.value.status, status["reason"]) == (409, "Conflict")
    assert 'conflict with "cmshell"' in status["message"]
    assert {c["reason"] for c in status["details"]["causes"]} == {"FieldManagerConflict"}
    assert configmaps.get(name="rack2", namespace=kube_namespace).data.rack == "r2"


def test_dry_run_apply_stores_nothing(configmaps, kube_namespace):
    cm = configmaps.server_side_apply(body=configmap("rack3", kube_namespace, rack="r3"),
                                      namespace=kube_namespace, field_manager="cmshell", dry_run="All")
    assert cm.data.rack == "r3"
    with pytest.raises(NotFoundError):
        configmaps.get(name="rack3", namespace=kube_namespace)
