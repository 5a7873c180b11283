// Command etcd is etcd's own main: the proxy refuses etcd's root module,
// which holds it, so this calls the server module's etcdmain as it does.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
