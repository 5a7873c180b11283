package consultest

import (
	"fmt"
	"strings"
)

// JSONList is a JSON list of n values made by each, for answers far longer
// than any fixture (member lists of large clusters, hostile lists).
func JSONList(n int, each func(i int) string) string {
	var b strings.Builder
	b.WriteByte('[')
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(each(i))
	}
	b.WriteByte(']')
	return b.String()
}

// RealisticMember is member i of /v1/agent/members as Consul 1.22 lists it,
// with the tags of a real agent: 363-367 bytes, the size of the members of
// the clusters measured in the outside review (docs/security.md). server sets role "consul".
func RealisticMember(i int, server bool) string {
	role := "node"
	if server {
		role = "consul"
	}
	return fmt.Sprintf(`{"Name":"client-node-%06d","Addr":"10.%d.%d.%d","Port":8301,"Tags":{"acls":"0","build":"1.22.6:0ca8f0ed","dc":"eu-west-1a","ft_fs":"1","ft_si":"1","id":"ff73a82d-db53-4c3f-c9ea-%012d","role":"%s","segment":"","vsn":"2","vsn_max":"3","vsn_min":"2"},"Status":1,"ProtocolMin":1,"ProtocolMax":5,"ProtocolCur":2,"DelegateMin":2,"DelegateMax":5,"DelegateCur":4}`,
		i, i>>16&255, i>>8&255, i&255, i, role)
}
