"""Test infrastructure: a private network namespace, real sshd nodes, a real kube-apiserver."""
