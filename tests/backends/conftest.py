"""Fixtures of the backend tests: real sshd nodes, a real kube-apiserver."""
from tests.infra.kube_fixtures import *  # noqa: F401,F403
from tests.infra.ssh_fixtures import *  # noqa: F401,F403
