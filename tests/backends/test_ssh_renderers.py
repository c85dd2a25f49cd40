"""Every renderer, pure and fast: the demo cluster's roles rendered without a node."""
from __future__ import annotations

import copy
import json
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from cmshell.backends.ssh.renderers import render_node
from cmshell.backends.ssh.renderers.common import RenderError, RenderInput, substitute
from cmshell.backends.ssh.renderers import docker, firewall, kubelet
from cmshell.model.effective import DocsView, Effective
from cmshell.model.schema import load_schema

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "basecm10.yaml"
SCHEMA = load_schema()


def demo() -> dict:
    return yaml.safe_load(FIXTURE.read_text())


def rendered(docs: dict, node: str):
    eff = Effective(SCHEMA, DocsView(SCHEMA, docs))
    return render_node(RenderInput(eff.node(node), eff))


def files(docs: dict, node: str) -> dict[str, bytes]:
    return {f.path: f.content for f in rendered(docs, node).files}


def test_docker_daemon_json_has_known_keys_and_types() -> None:
    docs = demo()
    role = docs["category"][0]["roles"][0]
    role.update({"mtu": 1400, "insecureregistries": ["reg:5000"], "defaultulimits": ["nofile=1024:2048"],
                 })
    role["options"] = ["--registry-mirrors=https://m", "--live-restore"]
    conf = json.loads(files(docs, "node004")["/etc/docker/daemon.json"])
    for key, value in conf.items():
        want = docker.KNOWN.get(key, dict)
        assert isinstance(value, want), (key, value)
    assert conf["mtu"] == 1400 and conf["storage-driver"] == "overlay2" and conf["live-restore"] is True
    assert conf["default-ulimits"]["nofile"] == {"Name": "nofile", "Soft": 1024, "Hard": 2048}
    actions = rendered(docs, "node004").actions
    assert any(a.unit == "docker" and a.action == "restart" for a in actions)


def test_docker_unknown_option_is_an_error() -> None:
    docs = demo()
    docs["category"][0]["roles"][0]["options"] = ["--no-such-flag=1"]
    with pytest.raises(RenderError, match="not a dockerd setting"):
        rendered(docs, "node004")


def test_etcd_conf_names_every_member_and_role_cert_wins() -> None:
    docs = demo()
    docs["configurationoverlay"][0]["roles"][0]["membercertificate"] = "/etc/own.pem"
    conf = yaml.safe_load(files(docs, "node002")["/cm/local/apps/etcd/current/etc/cm-etcd.conf"])
    assert conf["name"] == "node002"
    assert conf["initial-cluster"] == ("node001=https://node001:5002,node002=https://node002:5002,"
                                       "node003=https://node003:5002")
    # etcd binds to IP addresses only: $hostname in a listen URL is the node's ip
    assert conf["listen-client-urls"] == "https://10.141.0.2:5001,https://127.0.0.1:2379"
    assert conf["listen-peer-urls"] == "https://10.141.0.2:5002"
    assert conf["advertise-client-urls"] == "https://node002:5001"
    assert conf["peer-transport-security"]["cert-file"] == "/etc/own.pem"
    assert conf["peer-transport-security"]["key-file"] == "/cm/local/apps/etcd/var/etc/member.key"
    assert conf["initial-cluster-token"] == "kube-default" and conf["election-timeout"] == 1000
    assert "/cm/local/apps/etcd/current/etc/cm-etcd.conf" not in files(docs, "node004")
    del next(d for d in docs["device"] if d["hostname"] == "node002")["ip"]
    with pytest.raises(RenderError, match="no ip"):
        rendered(docs, "node002")


def test_firewall_block_keeps_the_admins_lines() -> None:
    f = next(f for f in rendered(demo(), "basecm10").files if f.path == firewall.PATH)
    assert b"ACCEPT\tnet\tfw\ttcp\t30443" in f.content
    first = f.edit(b"#ACTION SOURCE DEST\nACCEPT net fw tcp 22\n")
    assert first.startswith(b"#ACTION SOURCE DEST\nACCEPT net fw tcp 22\n# BEGIN cmshell")
    assert f.edit(first) == first                                  # idempotent
    smaller = firewall.merge(first + b"DROP net fw tcp 23\n", firewall.block([]))
    assert b"30443" not in smaller and smaller.endswith(b"DROP net fw tcp 23\n")
    assert b"ACCEPT net fw tcp 22\n" in smaller


@pytest.mark.skipif(not shutil.which("nginx"), reason="nginx not installed")
def test_apiserverproxy_nginx_conf_passes_nginx_t(tmp_path: Path) -> None:
    docs = demo()
    docs["kubernetes"][0]["extra"] = {"ingress_proxy_enable": "true", "ingress_proxy_backend_port": "30443",
                                      "ingress_proxy_listen_port": "443"}
    text = files(docs, "basecm10")["/etc/nginx/nginx.conf"].decode()
    assert "listen 10443;" in text and "server 10.141.0.3:6443;" in text
    assert "listen 443;" in text and "server 10.141.0.1:30443;" in text
    conf = tmp_path / "nginx.conf"
    conf.write_text(text.replace("pid /run/nginx.pid", f"pid {tmp_path}/nginx.pid"))
    got = subprocess.run(["nginx", "-t", "-c", str(conf), "-e", str(tmp_path / "err.log")],
                         capture_output=True, text=True)
    assert got.returncode == 0, got.stderr


def test_generic_role_files_env_and_actions() -> None:
    docs = demo()
    role = docs["configurationoverlay"][2]["roles"][0]
    role["configurations"][0]["content"] = "root = \"$containerd_root\"\nstate = \"${containerd_root}/s\" $UNSET\n"
    role["configurations"][0]["filemask"] = "0600"
    role["configurations"][1]["disabled"] = True
    st = rendered(docs, "node005")
    f = next(f for f in st.files if f.path.endswith("cri.toml"))
    assert f.content == b'root = "/var/lib/containerd"\nstate = "/var/lib/containerd/s" $UNSET\n'
    assert f.mode == 0o600 and f.mkdir
    assert not any(f.path.endswith("registry.toml") for f in st.files)
    (action,) = [a for a in st.actions if a.unit == "containerd"]
    assert action.action == "restart" and action.stop_on_failure and action.after == (f.path,)
    assert substitute("$a ${b} $$c", {"a": "1", "b": "2"}) == "1 2 $$c"


MANIFEST = b"""apiVersion: v1
kind: Pod
metadata:
  name: kube-apiserver
spec:
  containers:
  - name: kube-apiserver
    image: registry.k8s.io/kube-apiserver:v1.30.0
    command:
    - kube-apiserver
    - --advertise-address=10.141.0.1
    - --oidc-client-id=old
  - name: sidecar
    command: [sleep, infinity]
"""


def test_kubelet_options_edit_the_manifest() -> None:
    f = next(f for f in rendered(demo(), "node001").files if f.path.endswith("kube-apiserver.yaml"))
    out = yaml.safe_load(f.edit(MANIFEST))
    cmd = out["spec"]["containers"][0]["command"]
    assert cmd[:3] == ["kube-apiserver", "--advertise-address=10.141.0.1", "--oidc-client-id=runai"]
    assert "--cors-allowed-origins=https://name.run.ai" in cmd and "--oidc-username-prefix=-" in cmd
    assert out["spec"]["containers"][1]["command"] == ["sleep", "infinity"]
    assert f.edit(f.edit(MANIFEST)) == f.edit(MANIFEST)
    assert f.edit(None) is None
    assert kubelet.set_flags(MANIFEST, "kube-apiserver", [("advertise-address", "10.141.0.1")]) == MANIFEST


def test_render_is_pure_over_a_copy() -> None:
    docs = demo()
    before = copy.deepcopy(docs)
    assert rendered(docs, "node001") == rendered(docs, "node001")
    assert docs == before
