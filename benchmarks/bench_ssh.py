"""One Docker::Host change applied over SSH to N real sshd nodes: cmshell against fan-out 1 and
against Ansible doing the same work.

    python3 benchmarks/bench_ssh.py [--nodes 32 256] [--fanout 64] [--ansible-playbook PATH]

Needs root (the nodes are tests/infra/sshnodes.py, on 127.0.0.1 with one port per node). Per N,
on one cluster, each figure is one change of the category's `mtu`: daemon.json written and
`docker` restarted (the nodes' logging systemctl stub) on every node, after a first run that put
daemon.json everywhere:
- cmshell apply: SshBackend.apply in this process, fan-out F (then fan-out 1);
- cmshell command: `python -m cmshell --config C -c "category use default; roles; use
  docker::host; set mtu M; commit"` as a process (start-up, commit, apply: auto);
- ansible-playbook (ansible-core from PyPI): forks F, pipelining on, the same nodes through the
  generated ssh_config (`ansible_ssh_common_args='-F …'`), a template of the same daemon.json and a
  handler `systemctl restart docker`, no fact gathering. "warm": its ControlPersist masters from the
  previous run are still up (its default, best case); "cold": a fresh ControlPath directory.
The target of issue 9 is cmshell's command at most 1/3 of Ansible's time. Figures are printed, never
asserted; without ansible-playbook (pip install ansible-core) the Ansible rows are skipped.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from _bench import child_env  # noqa: E402  (this directory is on sys.path when run as a script)
from cmshell.backends.base import Context  # noqa: E402
from cmshell.backends.ssh.backend import SshBackend  # noqa: E402
from cmshell.model.effective import Effective  # noqa: E402
from cmshell.model.schema import load_schema  # noqa: E402
from cmshell.backends.ssh.renderers import render_node  # noqa: E402
from cmshell.backends.ssh.renderers.common import RenderInput  # noqa: E402
from cmshell.store.base import Change  # noqa: E402
from cmshell.store import new_id, open_store  # noqa: E402
from cmshell.store.view import StoreView  # noqa: E402
from tests.infra.sshnodes import SshCluster  # noqa: E402

DAEMON = "/etc/docker/daemon.json"
MTU_CMD = "category use default; roles; use docker::host; set mtu {}; commit"

ANSIBLE_CFG = """\
[defaults]
forks = {forks}
gathering = explicit
host_key_checking = True
interpreter_python = /usr/bin/python3
retry_files_enabled = False
[ssh_connection]
pipelining = True
"""

PLAYBOOK = """\
- hosts: nodes
  gather_facts: false
  tasks:
    - name: docker daemon.json
      ansible.builtin.template: {{src: "{template}", dest: /etc/docker/daemon.json, owner: root, group: root, mode: "0644"}}
      notify: restart docker
  handlers:
    - name: restart docker
      ansible.builtin.command: systemctl restart docker
"""


def store_for(path: Path, names: list[str]):
    store = open_store(path)
    cat = {"name": "default", "roles": [{"name": "Docker::Host", "storagebackends": [
        {"name": "overlay2", "type": "overlay2"}]}]}
    changes = [Change(new_id(), "category", "default", None, cat)]
    changes += [Change(new_id(), "device", n, None, {"hostname": n, "type": "physicalnode",
                                                    "category": "default", "ip": "127.0.0.1"})
                for n in names]
    store.commit(changes, user="bench")
    return store


def set_mtu(store, mtu: int) -> int:
    rec = store.get("category", "default")
    doc = dict(rec.doc)
    doc["roles"] = [dict(doc["roles"][0], mtu=mtu)]
    return store.commit([Change(rec.id, "category", "default", rec.revision, doc)], user="bench").seq


def template(store, node: str) -> str:
    """cmshell's daemon.json for `node` (with an mtu set) as a Jinja template of that mtu."""
    schema = load_schema()
    eff = Effective(schema, StoreView(store, schema))
    content = next(f.content for f in render_node(RenderInput(eff.node(node), eff)).files if f.path == DAEMON)
    mtu = json.loads(content)["mtu"]
    return content.decode().replace(f'"mtu": {mtu}', '"mtu": {{ mtu }}')


def check(cluster: SshCluster, names: list[str], mtu: int, restarts: int) -> None:
    for n in names:
        got = json.loads(cluster.node(n).read(DAEMON) or b"{}").get("mtu")
        calls = cluster.node(n).systemctl_calls().count("restart docker")
        if got != mtu or calls != restarts:
            raise SystemExit(f"{n}: mtu {got}, {calls} restarts; expected {mtu}, {restarts}")


class Bench:
    def __init__(self, n: int, fanout: int, work: Path, playbook_bin: str | None, j2: str):
        self.n, self.fanout, self.work, self.playbook_bin, self.j2 = n, fanout, work, playbook_bin, j2
        self.names = [f"node{i:03d}" for i in range(1, n + 1)]
        self.restarts = 0

    def run(self) -> dict[str, float]:
        out: dict[str, float] = {}
        with SshCluster(self.work / f"c{self.n}", self.names, first_port=22000) as cluster:
            self.cluster = cluster
            store = store_for(self.work / f"s{self.n}.db", self.names)
            try:
                out.update(self._cmshell(store))
            finally:
                store.close()
            if self.playbook_bin:
                out.update(self._ansible())
        return out

    def _apply(self, store, fanout: int, mtu: int) -> float:
        settings = {"known_hosts": str(self.cluster.known_hosts), "identity_file": str(self.cluster.identity_file),
                    "ssh_config": str(self.cluster.ssh_config), "fanout": fanout}
        seq = set_mtu(store, mtu)
        t0 = time.perf_counter()
        recap = SshBackend().apply(Context(store, load_schema(), settings), self.names, seq)
        took = time.perf_counter() - t0
        if not recap.complete:
            raise SystemExit(f"apply failed: {recap.counts()}")
        self.restarts += 1
        check(self.cluster, self.names, mtu, self.restarts)
        return took

    def _cmshell(self, store) -> dict[str, float]:
        self._apply(store, self.fanout, 1000)                  # every node has daemon.json
        got = {"apply": self._apply(store, self.fanout, 1400)}
        conf = self.work / f"config{self.n}.yaml"
        conf.write_text(f"apply: auto\nssh:\n  known_hosts: {self.cluster.known_hosts}\n"
                        f"  identity_file: {self.cluster.identity_file}\n  ssh_config: {self.cluster.ssh_config}\n"
                        f"  fanout: {self.fanout}\n")
        env = child_env(self.work)
        argv = [sys.executable, "-m", "cmshell", "-n", "--db", str(self.work / f"s{self.n}.db"),
                "--config", str(conf), "-c"]
        subprocess.run(argv + ["device; list"], env=env, check=True, capture_output=True)   # schema cache
        t0 = time.perf_counter()
        proc = subprocess.run(argv + [MTU_CMD.format(1500)], env=env, capture_output=True, text=True)
        got["command"] = time.perf_counter() - t0
        if proc.returncode != 0:
            raise SystemExit(f"cmshell failed ({proc.returncode}): {proc.stdout[-1000:]}{proc.stderr}")
        self.restarts += 1
        check(self.cluster, self.names, 1500, self.restarts)
        got["fanout1"] = self._apply(store, 1, 1300)
        return got

    def _ansible(self) -> dict[str, float]:
        d = self.work / f"ansible{self.n}"
        (d / "home").mkdir(parents=True)
        (d / "daemon.json.j2").write_text(self.j2)
        (d / "ansible.cfg").write_text(ANSIBLE_CFG.format(forks=self.fanout))
        (d / "hosts").write_text("[nodes]\n" + "\n".join(self.names) + "\n\n[nodes:vars]\n"
                                 f"ansible_ssh_common_args='-F {self.cluster.ssh_config}'\n")
        (d / "play.yml").write_text(PLAYBOOK.format(template=d / "daemon.json.j2"))

        def play(mtu: int, control_dir: str) -> float:
            env = {k: v for k, v in os.environ.items() if not k.startswith(("ANSIBLE_", "PYTHON"))}
            env.update(HOME=str(d / "home"), ANSIBLE_CONFIG=str(d / "ansible.cfg"),
                       ANSIBLE_SSH_CONTROL_PATH_DIR=str(d / control_dir), ANSIBLE_NOCOLOR="1")
            t0 = time.perf_counter()
            proc = subprocess.run([self.playbook_bin, "-i", str(d / "hosts"), str(d / "play.yml"),
                                   "-e", f"mtu={mtu}"], env=env, capture_output=True, text=True)
            took = time.perf_counter() - t0
            if proc.returncode != 0:
                raise SystemExit(f"ansible-playbook failed ({proc.returncode}):\n{proc.stdout[-3000:]}{proc.stderr}")
            self.restarts += 1
            check(self.cluster, self.names, mtu, self.restarts)
            return took

        play(1100, "cp-warm")                         # warm-up: masters up, files in place
        return {"ansible_warm": play(1200, "cp-warm"), "ansible_cold": play(1250, "cp-cold")}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--nodes", type=int, nargs="+", default=[32, 256])
    ap.add_argument("--fanout", type=int, default=64)
    ap.add_argument("--ansible-playbook", default=shutil.which("ansible-playbook"),
                    help="the ansible-playbook to compare with (default: from PATH)")
    args = ap.parse_args()
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}; "
          f"fan-out/forks {args.fanout}; ansible-playbook: {args.ansible_playbook or 'not found (skipped)'}")
    with tempfile.TemporaryDirectory() as d:
        store = store_for(Path(d) / "t.db", ["node001"])
        set_mtu(store, 1400)
        j2 = template(store, "node001")
        store.close()
        print(f"{'nodes':>5} {'cmshell apply':>14} {'cmshell cmd':>12} {'fan-out 1':>10} "
              f"{'ansible warm':>13} {'ansible cold':>13} {'cmd/warm':>9} {'cmd/cold':>9}")
        for n in args.nodes:
            r = Bench(n, args.fanout, Path(d), args.ansible_playbook, j2).run()
            warm, cold = r.get("ansible_warm"), r.get("ansible_cold")
            cell = (lambda v: f"{v:11.2f} s" if v is not None else f"{'-':>13}")   # noqa: E731
            ratio = (lambda v: f"{r['command'] / v:9.2f}" if v else f"{'-':>9}")   # noqa: E731
            print(f"{n:5d} {r['apply']:12.2f} s {r['command']:10.2f} s {r['fanout1']:8.2f} s "
                  f"{cell(warm)} {cell(cold)} {ratio(warm)} {ratio(cold)}", flush=True)
        print("target (issue 9): cmd/warm and cmd/cold <= 0.33")


if __name__ == "__main__":
    main()
