from tests.infra.kube_fixtures import *  # noqa
