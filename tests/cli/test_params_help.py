"""The Kubernetes `users` submode (manual section 4.11) and `help <parameter>` explaining the
parameters of the manual's tables, through the real entry point (sessions as in
test_inheritance.py)."""
from __future__ import annotations

from test_inheritance import session


def test_kubernetes_users_submode_with_the_fields_of_section_4_11(cm):
    session(cm, """
        [basecm10]% kubernetes
        [basecm10->kubernetes[default]]% users
        [basecm10->kubernetes[default]->users]% add john
        [basecm10->kubernetes*[default*]->users*[john*]]% show
        Parameter                        Value
        -------------------------------- ------------------------------------------------
        Name                             john
        Revision
        Role                             edit
        Namespace
        User paths
        Allow all UIDs                   no
        Runas UID
        Runas GIDs
        Operators
        [basecm10->kubernetes*[default*]->users*[john*]]% set role cluster-admin
        [basecm10->kubernetes*[default*]->users*[john*]]% set namespace john-restricted
        [basecm10->kubernetes*[default*]->users*[john*]]% set userpaths /home/john,/data
        [basecm10->kubernetes*[default*]->users*[john*]]% set allowalluids yes
        [basecm10->kubernetes*[default*]->users*[john*]]% set operators postgres-operator spark-operator
        [basecm10->kubernetes*[default*]->users*[john*]]% set role root
        [basecm10->kubernetes*[default*]->users*[john*]]% commit
        [basecm10->kubernetes[default]->users[john]]% list
        Name (key) Role          Namespace
        ---------- ------------- ---------------
        john       cluster-admin john-restricted
        [basecm10->kubernetes[default]->users[john]]% get userpaths
        /home/john
        /data
        [basecm10->kubernetes[default]->users[john]]% get operators
        postgres-operator
        spark-operator
        [basecm10->kubernetes[default]->users[john]]% get allowalluids
        yes
        [basecm10->kubernetes[default]->users[john]]% ..
        [basecm10->kubernetes[default]->users]% ..
        [basecm10->kubernetes[default]]% get users
        <1 in submode>
    """, errors=["Invalid value for role: 'root' (expected one of: view, edit, admin, cluster-admin)"])


def test_help_explains_parameters_of_the_manual_tables(cm):
    session(cm, """
        [basecm10]% category use default
        [basecm10->category[default]]% roles
        [basecm10->category[default]->roles]% use docker::host
        [basecm10->category[default]->roles[Docker::Host]]% help iptables
        Parameter:
        iptables (Iptables) - Enable iptables rules

        Value:
        yes or no
        default: yes
        [basecm10->category[default]->roles[Docker::Host]]% kubernetes
        [basecm10->kubernetes[default]]% help kubernetesapiserverproxyport
        Parameter:
        kubernetesapiserverproxyport (Kubernetes API server proxy port) - Kubernetes API server proxy (NGINX load balancer) port

        Value:
        an integer
        default: 10443
        [basecm10->kubernetes[default]]% users
        [basecm10->kubernetes[default]->users]% help role
        Parameter:
        role (Role) - Kubernetes user-facing cluster role bound to the user: view, edit, admin or cluster-admin

        Value:
        one of view, edit, admin, cluster-admin
        default: edit
        [basecm10->kubernetes[default]->users]% device use node001
        [basecm10->device[node001]]% help softwareimage
        Parameter:
        softwareimage (Software image) - Software image provisioned to the node (by default the one of its category)

        Value:
        the name of a softwareimage object
        inherited from the category when not set here
        [basecm10->device[node001]]% roles
        [basecm10->device[node001]->roles]% assign generic::harbor
        [basecm10->device*[node001*]->roles*[generic::harbor*]]% environments
        [basecm10->device*[node001*]->roles*[generic::harbor*]->environments]% help port
        Environment variable:
        port (Port) - Port of the Harbor UI and registry

        Value:
        the value of the row: add port; set value <value>
        default: 9443
        [basecm10->device*[node001*]->roles*[generic::harbor*]->environments]% help nosuch
    """, errors=["No help for unknown command: nosuch"])
