module servicemesh.local/testbed/etcd
