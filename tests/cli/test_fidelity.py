"""cmsh as the BCM 11 Administrator Manual (§2.5) and NVIDIA's guides show it, beyond the
sessions replayed whole in tests/transcripts/a*.txt (issue 15): the cases around them.
Sessions are compared whole, prompts included (see scenarios.transcript)."""
from __future__ import annotations

from scenarios import IPTABLES_OFF_IN_DEFAULT, journal_length, store, transcript


# -- clone: a cleared MAC and the next free IP of the network (§2.5.3) ---------------------------
def test_clone_takes_the_next_free_ip_of_the_network_and_clears_the_mac(cm, tmp_path):
    transcript(cm, tmp_path, """
        [basecm10]% device
        [basecm10->device]% clone node006 node007
        [basecm10->device*[node007*]]% get ip
        10.141.0.7
        [basecm10->device*[node007*]]% get mac
        00:00:00:00:00:00
        [basecm10->device*[node007*]]% clone node001 login1
        [basecm10->device*[login1*]]% get ip
        10.141.0.8
        [basecm10->device*[login1*]]% get network
        internalnet
        [basecm10->device*[login1*]]% clone gpu001 gpu003
        [basecm10->device*[gpu003*]]% get ip
        10.141.1.3
        [basecm10->device*[gpu003*]]% get category
        gpu-nodes
        [basecm10->device*[gpu003*]]% commit
        [basecm10->device*[gpu003]]% ..
        [basecm10->device*]% commit
        Successfully committed 2 Devices
        """)


def test_a_clone_in_a_full_network_gets_no_ip(cm, tmp_path):
    transcript(cm, tmp_path, """
        [basecm10]% network add tiny
        [basecm10->network*[tiny*]]% set baseaddress 10.200.0.0
        [basecm10->network*[tiny*]]% set netmaskbits 30
        [basecm10->network*[tiny*]]% commit
        [basecm10->network[tiny]]% device add physicalnode t1 10.200.0.1
        [basecm10->device*[t1*]]% get network
        tiny
        [basecm10->device*[t1*]]% clone t1 t2
        [basecm10->device*[t2*]]% get ip
        10.200.0.2
        [basecm10->device*[t2*]]% clone t1 t3
        [basecm10->device*[t3*]]% get ip
        0.0.0.0
        """)


def test_commit_refuses_duplicate_ips_and_macs_in_a_network_naming_both(cm, tmp_path, db):
    transcript(cm, tmp_path, """
        [basecm10]% device use node002
        [basecm10->device[node002]]% set ip 10.141.0.3
        [basecm10->device*[node002*]]% set mac fa:16:3e:a9:9d:b3
        [basecm10->device*[node002*]]% commit
        [basecm10->device*[node002*]]% validate
        [basecm10->device*[node002*]]% set network externalnet
        [basecm10->device*[node002*]]% validate
        All good
        [basecm10->device*[node002*]]% set network internalnet
        [basecm10->device*[node002*]]% set ip 10.141.0.2
        [basecm10->device*[node002*]]% clear mac
        [basecm10->device*[node002*]]% commit
        [basecm10->device[node002]]% clone node002 node010
        [basecm10->device*[node010*]]% set ip 10.141.0.2
        [basecm10->device*[node010*]]% commit
        """, errors=[
            "Code  Field                    Message",
            "----- ------------------------ ------------------------------------------------------------------------------",
            "4     ip                       node002 and node003 have the same IP 10.141.0.3 in network internalnet",
            "4     mac                      node002 and node003 have the same MAC FA:16:3E:A9:9D:B3 in network internalnet",
            "Code  Field                    Message",
            "----- ------------------------ ------------------------------------------------------------------------------",
            "4     ip                       node002 and node003 have the same IP 10.141.0.3 in network internalnet",
            "4     mac                      node002 and node003 have the same MAC FA:16:3E:A9:9D:B3 in network internalnet",
            "Code  Field                    Message",
            "----- ------------------------ ----------------------------------------------------------------------",
            "4     ip                       node010 and node002 have the same IP 10.141.0.2 in network internalnet"])
    assert store(db, "SELECT json_extract(doc, '$.mac') FROM objects WHERE name = 'node002'") == [(None,)]


# -- add: the network whose range holds the IP -----------------------------------------------------
def test_add_with_an_ip_joins_the_network_that_holds_it(cm, tmp_path):
    transcript(cm, tmp_path, """
        [basecm10]% device add physicalnode compute0 10.141.0.50
        [basecm10->device*[compute0*]]% get network
        internalnet
        [basecm10->device*[compute0*]]% device add physicalnode compute1 192.168.200.50
        [basecm10->device*[compute1*]]% get network
        externalnet
        [basecm10->device*[compute1*]]% device add physicalnode compute2 172.16.0.1
        [basecm10->device*[compute2*]]% get network

        [basecm10->device*[compute2*]]% device add physicalnode compute3
        [basecm10->device*[compute3*]]% get network

        """)


# -- devices that are not nodes; the order of the device list (§2.5.2, §2.5.3, §2.5.5) -------------
def test_a_switch_or_pdu_has_no_category_and_lists_by_type(cm, tmp_path):
    transcript(cm, tmp_path, """
        [basecm10]% device
        [basecm10->device]% add switch switch01 10.141.0.50
        [basecm10->device*[switch01*]]% add powerdistributionunit apc01 10.141.0.60
        [basecm10->device*[apc01*]]% get category
        [basecm10->device*[apc01*]]% commit
        [basecm10->device*[apc01]]% ..
        [basecm10->device*]% commit
        Successfully committed 1 Devices
        [basecm10->device]% list -f type:22,hostname:10,category:10
        type                   hostname ( category
        ---------------------- ---------- ----------
        HeadNode               basecm10
        PhysicalNode           gpu001     gpu-nodes
        PhysicalNode           gpu002     gpu-nodes
        PhysicalNode           node001    default
        PhysicalNode           node002    default
        PhysicalNode           node003    default
        PhysicalNode           node004    default
        PhysicalNode           node005    default
        PhysicalNode           node006    default
        PowerDistributionUnit  apc01
        Switch                 switch01
        [basecm10->device]% list -f hostname,ip
        hostname (key) ip
        -------------- --------------
        apc01          10.141.0.60
        basecm10       10.141.255.254
        gpu001         10.141.1.1
        gpu002         10.141.1.2
        node001        10.141.0.1
        node002        10.141.0.2
        node003        10.141.0.3
        node004        10.141.0.4
        node005        10.141.0.5
        node006        10.141.0.6
        switch01       10.141.0.50
        [basecm10->device]% foreach -t switch,powerdistributionunit (get hostname)
        apc01
        switch01
        [basecm10->device]% sort
        Current sort order: type, hostname
        [basecm10->device]% set switch01 category default
        """, errors=["Unknown parameter 'category' in device; 'show' lists the parameters",
                     "Unknown parameter 'category' in device; 'show' lists the parameters"])


# -- rename: numbered from 1 (§2.5.5); refresh drops a proposed rename whole ------------------------
def test_rename_numbers_from_one_and_refresh_drops_the_moved_pointers(cm, tmp_path):
    transcript(cm, tmp_path, """
        [basecm10]% device
        [basecm10->device]% rename node004..node006 worker
        Renamed: node004 to worker1
        Renamed: node005 to worker2
        Renamed: node006 to worker3
        [basecm10->device*]% configurationoverlay list -f name,nodes
        name (key)          nodes
        ------------------- ----------------
        kube-default-etcd   node001..node003
        kube-default-master node001..node003
        kube-default-worker worker1..worker3
        [basecm10->device*]% refresh
        [basecm10->device]% configurationoverlay list -f name,nodes
        name (key)          nodes
        ------------------- ----------------
        kube-default-etcd   node001..node003
        kube-default-master node001..node003
        kube-default-worker node004..node006
        [basecm10->device]% home
        [basecm10]% modified
        No modified objects
        [basecm10]% device rename gpu001,gpu002 a100-%d
        Renamed: gpu001 to a100-1
        Renamed: gpu002 to a100-2
        """)


# -- modified marks last until commit or refresh (§2.5.3) -------------------------------------------
def test_an_object_set_back_stays_modified_until_commit_or_refresh(cm, tmp_path, db):
    before = journal_length(db)
    transcript(cm, tmp_path, IPTABLES_OFF_IN_DEFAULT, """
        [basecm10->category[default]->roles[Docker::Host]]% set iptables yes
        [basecm10->category*[default*]->roles*[Docker::Host*]]% set iptables no
        [basecm10->category*[default*]->roles*[Docker::Host*]]% storagebackends
        [basecm10->category*[default*]->roles*[Docker::Host*]->storagebackends]% ..
        [basecm10->category*[default*]->roles*[Docker::Host*]]% ..
        [basecm10->category*[default*]->roles*]% ..
        [basecm10->category*[default*]]% modified
        State  Type                     Name
        ------ ------------------------ ----------------------------------
               Category                 default
        [basecm10->category*[default*]]% diff
        [basecm10->category*[default*]]% refresh
        [basecm10->category[default]]% set notes "x"
        [basecm10->category*[default*]]% clear notes
        [basecm10->category*[default*]]% ..
        [basecm10->category*]% commit
        Successfully committed 1 Categories
        [basecm10->category]% use default
        [basecm10->category[default]]% set nosuch 1
        [basecm10->category[default]]% set installmode sometimes
        [basecm10->category[default]]% modified
        No modified objects of type category
        """, errors=["Unknown parameter 'nosuch' in category; 'show' lists the parameters",
                     "Invalid value for installmode: 'sometimes' (expected one of: auto, full, main, nosync, sync)"])
    assert journal_length(db) == before + 1      # the first commit only: the others had the stored values


# -- roles: import (§2.5.3) ------------------------------------------------------------------------
def test_import_copies_a_role_with_its_values_from_a_category_node_or_overlay(cm, tmp_path):
    transcript(cm, tmp_path, IPTABLES_OFF_IN_DEFAULT, """
        [basecm10->category[default]->roles[Docker::Host]]% category use gpu-nodes
        [basecm10->category[gpu-nodes]]% roles
        [basecm10->category[gpu-nodes]->roles]% import --category default docker::host
        [basecm10->category*[gpu-nodes*]->roles*]% get docker::host iptables
        no
        [basecm10->category*[gpu-nodes*]->roles*]% import -n node004 kubelet
        [basecm10->category*[gpu-nodes*]->roles*]% import -o kube-default-worker kubelet
        [basecm10->category*[gpu-nodes*]->roles*]% import -o kube-default-etcd etcd::host
        [basecm10->category*[gpu-nodes*]->roles*]% list
        Name (key)
        ------------
        Docker::Host
        Etcd::Host
        kubelet
        [basecm10->category*[gpu-nodes*]->roles*]% commit
        [basecm10->category[gpu-nodes]->roles]% device roles node001
        [basecm10->device[node001]->roles]% import docker::host
        [basecm10->device*[node001*]->roles*]% get docker::host iptables
        no
        [basecm10->device*[node001*]->roles*]% import docker::host
        [basecm10->device*[node001*]->roles*]% import -c gpu-nodes firewall
        [basecm10->device*[node001*]->roles*]% import -c nosuch firewall
        [basecm10->device*[node001*]->roles*]% import -c default -o kube-default-etcd etcd::host
        [basecm10->device*[node001*]->roles*]% import firewall
        [basecm10->device*[node001*]->roles*]% import -n node001 kubelet
        """, errors=["Device node004 has no role kubelet",
                     "Role Docker::Host is already assigned; 'use Docker::Host' to change it",
                     "Category gpu-nodes has no role firewall",
                     "No category named nosuch",
                     "import: name one source (-c, -n or -o)",
                     "import: node001 inherits no role firewall; name the source with -c, -n or -o",
                     "import: node001 is the object the role would be imported into"])


# -- help <command>: the mode's own usage (§2.5.3 `help add`) -------------------------------------
def test_help_gives_the_usage_of_the_mode(cm, tmp_path):
    transcript(cm, tmp_path, """
        [basecm10]% category help add
        Name:
        add - Create a new category with specified name, and use it

        Usage:
        add <name>

        Examples:
        add new-category
        [basecm10]% category use default; roles; use docker::host; storagebackends
        [basecm10->category[default]->roles[Docker::Host]->storagebackends]% help add
        Name:
        add - Create a new storagebackends entry of the given type with specified name

        Usage:
        add <type> <name>

        Arguments:
        type  aufs, devicemapper, overlay2

        Examples:
        add aufs myaufs
        [basecm10->category[default]->roles[Docker::Host]->storagebackends]% ..; ..
        [basecm10->category[default]->roles]% help add
        Name:
        add - Roles are not added: assign one, or import one with its values

        Usage:
        assign <role>
        import [-c <category> | -n <node> | -o <overlay>] <role>

        Examples:
        assign docker::host
        import -c default docker::host
        [basecm10->category[default]->roles]% device use basecm10; roles; use firewall; openports; help add
        Name:
        add - Add an entry to openports (numbered 0, 1, ...) and use it

        Usage:
        add <action> <network> <port> <protocol> <destination>

        Arguments:
        action       What the firewall does with matching traffic (ACCEPT, DROP,
                     REJECT)
        network      Source zone of the traffic (Shorewall zone, e.g. net)
        port         Destination port of the traffic
        protocol     Transport protocol (TCP or UDP)
        destination  Destination zone of the traffic (Shorewall zone, e.g. fw for the
                     firewall host)

        Examples:
        add ACCEPT net 10443 tcp fw
        [basecm10->device[basecm10]->roles[firewall]->openports]% category help foreach
        Name:
        foreach - Run commands in each of a list of objects

        Usage:
        foreach <objects> ( <command>; <command> ... )
        foreach * ( ... )                     every object of this level
          -o|--clone <object>    clone <object> as each of the objects named, then run the commands
          -v|--verbose           a header line before each object
          -q|--quitonunknown     stop at the first command that fails
          (-n -c -e -l -m -t select devices: in device mode)

        Examples:
        foreach * (get name)
        foreach --clone default gpu-a gpu-b ()
        [basecm10->device[basecm10]->roles[firewall]->openports]% device help clone
        Name:
        clone - Clone a device and use the clone

        Usage:
        clone <object> <new name>

        Arguments:
        new name  the clone gets no MAC, and the next free IP of the original's
                  network: with the original's base name, its IP moved by the
                  difference of their numbers (node100 at 10.141.0.100 -> node101 at
                  10.141.0.101), else the next free one

        Examples:
        clone node100 node101
        """)


def test_duplicates_are_found_in_a_bulk_commit_too(cm, tmp_path):
    """Sixty clones: more addresses than the store is asked for one by one (the whole mode is
    read instead); the duplicate is named all the same."""
    transcript(cm, tmp_path, """
        [basecm10]% device
        [basecm10->device]% foreach -o node001 -n w[01-60] --next-ip ()
        [basecm10->device*]% set w01 ip 10.141.0.2
        [basecm10->device*]% get w60 ip
        10.141.0.66
        [basecm10->device*]% commit
        [basecm10->device*]% set w01 ip 10.141.0.99
        [basecm10->device*]% commit
        Successfully committed 60 Devices
        """, errors=["Code  Field                    Message",
                     "----- ------------------------ ------------------------------------------------------------------",
                     "4     ip                       w01 and node002 have the same IP 10.141.0.2 in network internalnet"])


def test_status_in_a_range_shows_its_members(cm):
    """§2.5.5: `[basecm11->device{-c default}]% ds` lists the category's nodes only."""
    for line in ("device; range -c gpu-nodes; ds", "device; range -c gpu-nodes; status",
                 "device; range -c gpu-nodes; device status"):
        res = cm("-c", line)
        assert res.returncode == 0 and res.stderr == "", str(res)
        assert [row.split()[0] for row in res.stdout.splitlines()] == ["gpu001", "gpu002"], line
    res = cm("-c", "device; range -c gpu-nodes; range --clear; ds")
    assert len(res.stdout.splitlines()) == 9
