#%Module1.0#####################################################################
## Test stand-in for the module file template of a CAPI cluster (690 bytes)
proc ModulesHelp { } {
    puts stderr "\tAdds kubectl and helm for Kubernetes cluster $CLUSTER."
}
module-whatis "Kubernetes cluster $CLUSTER (version $VERSION)"
conflict        kubernetes
set             cluster       $CLUSTER
set             kubedir       /cm/local/apps/kubernetes
prepend-path    PATH          $kubedir/bin
if { [ file exists $::env(HOME)/.kube/config-$cluster ] } {
    setenv      KUBECONFIG    $::env(HOME)/.kube/config-$cluster
}
setenv          KUBE_CLUSTER  $cluster
setenv          KUBE_VERSION  $VERSION
