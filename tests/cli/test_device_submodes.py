"""Device and category submodes that cmsh has and the demo cluster did not show (issue 12, item
15): `interfaces` of a device (physical, bond, bridge, vlan; ip, network, mtu) and the
`excludelistsnippets` of a category that `imageupdate` honours; `nodeoverview` and `sysinfo`.

Sources quoted: the BCM 11 Administrator Manual through /work/shared/reference/cmsh-behaviour.md
(§4.1: `[basecm11->device[node001]->interfaces]% set bootif networkdevicename eth0`; §3.3:
`device interfaces node001` enters a node's interfaces; §4.12: `swap eth0 eth1; commit` in
interfaces), and the BCM 10 Containerization Manual (the seed: S:665-677 nodeoverview's
`Interface  Received  Transmitted` table, S:1712-1720 `sysinfo | grep GPU`).
"""
from __future__ import annotations

from test_inheritance import session


def test_interfaces_of_a_node_add_list_set_swap(cm):
    session(cm, """
        [basecm10]% device interfaces node001
        [basecm10->device[node001]->interfaces]% add physical eth1 10.141.1.1 internalnet
        [basecm10->device*[node001*]->interfaces*[eth1*]]% set mtu 9000
        [basecm10->device*[node001*]->interfaces*[eth1*]]% ..
        [basecm10->device*[node001*]->interfaces*]% add physical eth2
        [basecm10->device*[node001*]->interfaces*[eth2*]]% ..
        [basecm10->device*[node001*]->interfaces*]% add bond bond0 10.141.2.1 internalnet
        [basecm10->device*[node001*]->interfaces*[bond0*]]% set interfaces eth1 eth2
        [basecm10->device*[node001*]->interfaces*[bond0*]]% set mode 4
        [basecm10->device*[node001*]->interfaces*[bond0*]]% ..
        [basecm10->device*[node001*]->interfaces*]% add vlan eth0.100 10.142.0.1
        [basecm10->device*[node001*]->interfaces*[eth0.100*]]% set baseinterface eth0
        [basecm10->device*[node001*]->interfaces*[eth0.100*]]% set vlanid 100
        [basecm10->device*[node001*]->interfaces*[eth0.100*]]% ..
        [basecm10->device*[node001*]->interfaces*]% add bridge br0
        [basecm10->device*[node001*]->interfaces*[br0*]]% set stp yes
        [basecm10->device*[node001*]->interfaces*[br0*]]% ..
        [basecm10->device*[node001*]->interfaces*]% commit
        [basecm10->device[node001]->interfaces]% list
        Type         Network device name (key) IP               Network          MTU
        ------------ ------------------------- ---------------- ---------------- ------
        bond         bond0                     10.141.2.1       internalnet      0
        bridge       br0                       0.0.0.0                           0
        vlan         eth0.100                  10.142.0.1                        0
        physical     eth1                      10.141.1.1       internalnet      9000
        physical     eth2                      0.0.0.0                           0
        [basecm10->device[node001]->interfaces]% show bond0
        Parameter                        Value
        -------------------------------- ------------------------------------------------
        Network device name              bond0
        Revision
        Type                             bond
        IP                               10.141.2.1
        Network                          internalnet
        MTU                              0
        DHCP                             no
        Start if                         ALWAYS
        Additional Hostnames
        Mode                             4
        Options
        Interfaces                       eth1,eth2
        [basecm10->device[node001]->interfaces]% swap eth1 eth2
        [basecm10->device*[node001*]->interfaces*]% get eth2 mtu
        9000
        [basecm10->device*[node001*]->interfaces*]% commit
        [basecm10->device[node001]->interfaces]% exit
        [basecm10->device[node001]]% get interfaces
        <5 in submode>
        [basecm10->device[node001]]% show
        Parameter                        Value
        -------------------------------- ------------------------------------------------
        Hostname                         node001
        Revision
        Type                             PhysicalNode
        MAC                              FA:16:3E:E4:8D:8C
        Ip                               10.141.0.1
        Network                          internalnet
        Category                         default
        Software image                   default-image (category:default)
        Install mode                     AUTO (category:default)
        Next install mode
        Install boot record              no
        Data node                        yes
        Notes
        Roles                            <0 in submode>
        Services                         <2 in submode>
        Interfaces                       <5 in submode>
    """)
    # a network that does not exist is refused at commit, like every pointer
    res = cm("-c", "device interfaces node002; add physical eth1 10.141.1.2 nosuchnet; commit")
    assert res.returncode == 1 and "network nosuchnet does not exist" in res.stderr


def test_a_categorys_exclude_list_snippets(cm):
    session(cm, """
        [basecm10]% category use default
        [basecm10->category[default]]% excludelistsnippets
        [basecm10->category[default]->excludelistsnippets]% add site-data
        [basecm10->category*[default*]->excludelistsnippets*[site-data*]]% set excludelist /opt/site/data/ /etc/site.conf
        [basecm10->category*[default*]->excludelistsnippets*[site-data*]]% commit
        [basecm10->category[default]->excludelistsnippets[site-data]]% ..
        [basecm10->category[default]->excludelistsnippets]% list
        Name (key) Exclude list                   Disabled
        ---------- ------------------------------ --------
        site-data  /opt/site/data/,/etc/site.conf no
        [basecm10->category[default]->excludelistsnippets]% get site-data modeupdate
        yes
    """)


def test_nodeoverview_and_sysinfo_show_what_the_model_holds(cm):
    """The manual's nodeoverview has an interface table (S:665-677: `Interface  Received
    Transmitted`) and sysinfo the hardware (S:1712-1720: `sysinfo | grep GPU`); cmshell has no
    monitoring, so both print the configuration's side: interfaces with their IP, network and
    MTU; the image and its kernel."""
    assert cm("-c", "device interfaces node001; add physical eth1 10.141.1.1 internalnet; set mtu 9000; "
                    "commit").returncode == 0
    session(cm, """
        [basecm10]% device use node001
        [basecm10->device[node001]]% nodeoverview
        Hostname                 node001
        Type                     PhysicalNode
        State                    [UNKNOWN ]
        Category                 default
        Software image           default-image
        Kernel version           5.14.0-427.13.1.el9_4.x86_64
        Install mode             AUTO
        MAC                      FA:16:3E:E4:8D:8C
        IP                       10.141.0.1
        Network                  internalnet
        Roles                    Docker::Host, Etcd::Host, generic::containerd, kubelet
        Services                 docker, nslcd
        Notes

        Interface  Type     IP              Network      MTU
        ---------- -------- --------------- ------------ -----
        BOOTIF              10.141.0.1      internalnet  1500
        eth1       physical 10.141.1.1      internalnet  9000
        [basecm10->device[node001]]% sysinfo gpu001
        System Information
        -------------------- ------------------------------------------------
        Hostname             gpu001
        Software image       gpu-image
        Kernel version       5.14.0-427.13.1.el9_4.x86_64
        Kernel parameters
        Number of interfaces 1
        [basecm10->device[node001]]% sysinfo nosuch
        [basecm10->device[node001]]% exit
        [basecm10->device]% nodeoverview
    """, errors=["No device named nosuch", "Usage: nodeoverview <device> (or 'use' one first)"])
    res = cm("-c", "device; sysinfo node002 | grep Kernel")
    assert res.stdout == "Kernel version       5.14.0-427.13.1.el9_4.x86_64\nKernel parameters\n"
    # the manual's line (S:1717) runs; there is no GPU data to print (docs/differences.md)
    res = cm("-c", "device use basecm10; sysinfo | grep GPU")
    assert res.returncode == 0 and res.stdout == ""


def test_imageupdate_refuses_what_it_cannot_update(cm):
    """Without an image directory on this machine, or for the head node, imageupdate says why
    for each node and ends `imageupdate [ FAILED ]`; a dry run is the default."""
    res = cm("-c", "device; imageupdate -n node001,basecm10")
    assert res.returncode == 1
    assert res.stdout == ("Performing dry run (pass -w to perform the real update)...\n"
                          "imageupdate [ FAILED ]\n")
    assert res.err_lines == [
        "node001: software image default-image: directory /cm/images/default-image does not exist "
        "on this machine",
        "basecm10: is not provisioned from a software image (a headnode)"]
    res = cm("-c", "category; imageupdate -n node001")
    assert res.returncode == 1 and "imageupdate: only available in device mode" in res.stderr
