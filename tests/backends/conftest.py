from tests.infra.ssh_fixtures import *  # noqa
