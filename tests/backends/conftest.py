from tests.infra.ssh_fixtures import *  # noqa
from tests.infra.kube_fixtures import *  # noqa
