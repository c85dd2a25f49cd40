"""Every parameter of the manual's parameter tables (BCM 10 Containerization Manual, tables 2.1,
2.3, 3.1, 3.2, 4.1-4.4) and the Kubernetes user fields of section 4.11 are in the schema with a
help text, so that `help <parameter>` and completion can explain them.

The labels are the first column of each table as the manual prints it; a schema label may
differ in case or spacing where the manual's own `show` output spells it so (table 4.1 says
`Kubernetes API Server Proxy Port`, `show` at S:2064 says `Kubernetes API server proxy port`)."""
from __future__ import annotations

import pytest

from cmshell.model.schema import load_schema

SCHEMA = load_schema()

TABLES = {
    "2.1 Docker::Host role": ("role", "Docker::Host", [
        "Add services", "Spool", "Tmp dir", "Enable SELinux", "Default Ulimits", "Debug", "Log Level",
        "Bridge IP", "Bridge", "MTU", "API Sockets", "Iptables", "User Namespace Remap",
        "Insecure Registries", "Enable TLS", "Verify TLS", "TLS CA", "TLS Certificate", "TLS Key",
        "Certificates Path", "Storage Backends", "Containerd Socket", "Runtime", "Options"]),
    "2.3 device mapper back end": ("type", ("storagebackends", "devicemapper"), [
        "Blk Discard", "Block Size", "Filesystem", "Loop Data Size", "Loop Device Size",
        "Loop Metadata Size", "Mkfs Arguments", "Mount Options", "Pool Device"]),
    "3.1 Docker Registry role": ("environment", "generic::docker_registry", [
        "Domain", "Alt Domains", "Port", "Spool Dir"]),
    "3.2 Harbor role": ("environment", "generic::harbor", [
        "Domain", "Alt Domains", "Port", "Spool Dir", "Default Password", "DB Password"]),
    "4.1 kubernetes mode": ("mode", "kubernetes", [
        "App Groups", "CAPI namespace", "CAPI template", "Etcd Cluster", "External",
        "External Kubernetes Ingress server", "External port", "Internal Network", "Kube CA Cert",
        "Kube CA Key", "KubeDNS IP", "Kubeadm Cert Key", "Kubeadm Init file", "Kubernetes API Server",
        "Kubernetes API Server Proxy Port", "Kubernetes Management cluster", "Kubernetes Users",
        "Label Sets", "Module file template", "Name", "Pod Network", "Pod Network Node Mask",
        "Service Network", "Trusted Domains", "Version"]),
    "4.2 EtcdCluster": ("mode", "etcd", [
        "Name", "Election Timeout", "Heart Beat Interval", "CA", "CA Key", "Member Certificate",
        "Member Certificate Key", "Client CA", "Client Certificate", "Client Certificate Key"]),
    "4.3 EtcdHost role": ("role", "Etcd::Host", [
        "Member Name", "Spool", "Advertise Client URLs", "Advertise Peers URLs", "Listen Client URLs",
        "Listen Peer URLs", "Snapshot Count", "Debug", "Member Certificate", "Member Certificate Key",
        "Options"]),
    "4.4 Kubelet role": ("role", "kubelet", [
        "Kubernetes Cluster", "Control plane", "Worker", "Max Pods", "Options"]),
    # section 4.11: name, role, namespace, user paths, allow all UIDs, UIDs/GIDs, operators
    "4.11 Kubernetes users": ("mode", "users", [
        "Name", "Role", "Namespace", "User paths", "Allow all UIDs", "Runas UID", "Runas GIDs",
        "Operators"]),
}


def _params(kind, where):
    roles = SCHEMA.mode("roles").roles
    if kind == "role":
        return roles.find(where).spec(SCHEMA.mode("roles").params).params
    if kind == "environment":
        return list(roles.find(where).environment)
    if kind == "type":
        mode, typ = where
        return SCHEMA.mode(mode).types[typ].params
    return SCHEMA.mode(where).params


def _norm(text: str) -> str:
    return text.lower().replace(" ", "")


@pytest.mark.parametrize("table", sorted(TABLES))
def test_every_parameter_of_the_table_is_in_the_schema_with_help(table):
    kind, where, labels = TABLES[table]
    params = {_norm(p.label): p for p in _params(kind, where)}
    missing = [label for label in labels if _norm(label) not in params]
    assert not missing, f"{table}: not in the schema: {missing}"
    no_help = [label for label in labels if not params[_norm(label)].help.strip()]
    assert not no_help, f"{table}: no help text: {no_help}"


def test_kubernetes_users_submode_and_role_choices():
    k8s = {p.name: p for p in SCHEMA.mode("kubernetes").params}
    assert k8s["users"].is_submode and k8s["users"].mode == "users"
    role = {p.name: p for p in SCHEMA.mode("users").params}["role"]
    assert set(role.choices) == {"view", "edit", "admin", "cluster-admin"} and role.default == "edit"


def test_documented_generic_roles_keep_the_generic_parameters():
    roles = SCHEMA.mode("roles").roles
    generic = [p.name for p in roles.find("generic::anything").params]
    for name in ("generic::harbor", "generic::docker_registry"):
        role = roles.find(name)
        assert role.name == name and roles.canonical(name.upper()) == name
        assert [p.name for p in role.params] == generic
        assert role.spec(SCHEMA.mode("roles").params).type_label == "GenericRole"
