package consul

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// ACLReplication is /v1/acl/replication: whether this server replicates ACL
// data from the primary datacenter, and how far it got. A field the agent
// did not send is nil (its series is absent), and so is a time Consul
// reports as Go's zero time (never).
type ACLReplication struct {
	Enabled, Running                  bool
	SourceDatacenter, ReplicationType string
	// Policies, Roles and Tokens are ReplicatedIndex, ReplicatedRoleIndex
	// and ReplicatedTokenIndex.
	Policies, Roles, Tokens *float64
	LastSuccess, LastError  *time.Time
}

type aclReplication struct {
	Enabled, Running                                           *bool
	SourceDatacenter, ReplicationType                          string
	ReplicatedIndex, ReplicatedRoleIndex, ReplicatedTokenIndex *float64
	LastSuccess, LastError                                     *time.Time
}

// aclDisabled is Consul's 401 answer where ACLs are off: no replication,
// which is data, not a failure.
const aclDisabled = "ACL support disabled"

// ACLReplication reads the replication status. It needs no ACL right.
func (a *Agent) ACLReplication(ctx context.Context, token string) (*ACLReplication, error) {
	r, err := fetchDecoded(ctx, a, PathACLReplication, token, DecodeACLReplication)
	if err == nil {
		return r, nil
	}
	var he *HTTPError
	if errors.As(err, &he) && he.Code == http.StatusUnauthorized && strings.Contains(he.Body, aclDisabled) {
		return &ACLReplication{}, nil
	}
	return nil, endpointError(ctx, PathACLReplication, notServed(err), "the ACL replication collector needs no ACL right")
}

// DecodeACLReplication decodes /v1/acl/replication.
func DecodeACLReplication(body []byte) (*ACLReplication, error) {
	var raw aclReplication
	if err := decodeStrict(body, &raw, "a JSON object"); err != nil {
		return nil, err
	}
	if raw.Enabled == nil || raw.Running == nil {
		return nil, errors.New("no Enabled or Running in the answer")
	}
	for _, l := range []string{raw.SourceDatacenter, raw.ReplicationType} {
		if len(l) > maxLabelBytes {
			return nil, fmt.Errorf("a datacenter or replication type of %d bytes", len(l))
		}
	}
	return &ACLReplication{
		Enabled: *raw.Enabled, Running: *raw.Running,
		SourceDatacenter: raw.SourceDatacenter, ReplicationType: raw.ReplicationType,
		Policies: raw.ReplicatedIndex, Roles: raw.ReplicatedRoleIndex, Tokens: raw.ReplicatedTokenIndex,
		LastSuccess: knownTime(raw.LastSuccess), LastError: knownTime(raw.LastError),
	}, nil
}

// knownTime is t, or nil for null and for Go's zero time, which Consul
// sends for "never".
func knownTime(t *time.Time) *time.Time {
	if t == nil || t.IsZero() || t.Unix() <= 0 {
		return nil
	}
	return t
}
