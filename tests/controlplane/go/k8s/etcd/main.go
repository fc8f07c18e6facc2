// Command etcd is etcd's own main: the server at the version kube-apiserver's
// module graph pins, so the control plane and its store come from one go.sum.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
