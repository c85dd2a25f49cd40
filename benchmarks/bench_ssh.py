"""One Docker::Host change applied over SSH to N real sshd nodes, fan-out F against fan-out 1.

    python3 benchmarks/bench_ssh.py [--nodes 32 256] [--fanout 64]

Needs root (the nodes are tests/infra/sshnodes.py, on 127.0.0.1 with one port per node). Each
figure: a first sync (every node gets daemon.json), then the measured one: one category change
(`mtu`), written and `docker` restarted on every node. The Ansible comparison is not done here.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cmshell.backends.base import Context  # noqa: E402
from cmshell.backends.ssh.backend import SshBackend  # noqa: E402
from cmshell.model.schema import load_schema  # noqa: E402
from cmshell.store.base import Change  # noqa: E402
from cmshell.store.sqlite import new_id, open_store  # noqa: E402
from tests.infra.sshnodes import SshCluster  # noqa: E402


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


def measure(n: int, fanout: int, work: Path) -> float:
    names = [f"node{i:03d}" for i in range(1, n + 1)]
    with SshCluster(work / f"c{n}-{fanout}", names, first_port=22000) as cluster:
        store = store_for(work / f"s{n}-{fanout}.db", names)
        settings = {"known_hosts": str(cluster.known_hosts), "identity_file": str(cluster.identity_file),
                    "ssh_config": str(cluster.ssh_config), "fanout": fanout}
        ctx = Context(store, load_schema(), settings)
        backend = SshBackend()
        assert backend.apply(ctx, names, None).complete          # every node has daemon.json
        seq = set_mtu(store, 1400)
        t0 = time.perf_counter()
        recap = backend.apply(ctx, names, seq)
        took = time.perf_counter() - t0
        assert recap.complete and recap.counts()["changed"] == n, recap.counts()
        store.close()
    return took


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--nodes", type=int, nargs="+", default=[32, 256])
    ap.add_argument("--fanout", type=int, default=64)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        for n in args.nodes:
            par = measure(n, args.fanout, Path(d))
            one = measure(n, 1, Path(d))
            print(f"{n:4d} nodes: fan-out {args.fanout}: {par:6.2f} s   fan-out 1: {one:6.2f} s   "
                  f"ratio {one / par:5.1f}x   ({par / n * 1000:.1f} ms/node at fan-out {args.fanout})")


if __name__ == "__main__":
    main()
