"""Fixtures of the backend tests: real sshd nodes, a real kube-apiserver, a session wired to the nodes."""
from tests.backends.ssh_helpers import ssh_session  # noqa: F401
from tests.infra.kube_fixtures import *  # noqa: F401,F403
from tests.infra.ssh_fixtures import *  # noqa: F401,F403
