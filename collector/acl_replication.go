package collector

import (
	"context"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/consul-status-exporter/consul_status_exporter/collector/consul"
)

// The ACL replication unit (--collector.acl-replication):
// /v1/acl/replication, which needs no ACL right. A secondary datacenter's
// servers replicate ACL policies, roles and tokens from the primary; a
// primary, or a cluster without ACLs, reports replication disabled.

const endpointACLReplication = "acl_replication"

var (
	aclReplEnabledDesc     = desc("acl_replication_enabled", "Whether this server is set to replicate ACLs from the primary datacenter (1) or not (0). --collector.acl-replication.")
	aclReplRunningDesc     = desc("acl_replication_running", "Whether ACL replication is running on this server (1) or not (0).")
	aclReplInfoDesc        = desc("acl_replication_info", "The datacenter ACLs are replicated from and what is replicated (policies or tokens); present only where replication is enabled.", "source_datacenter", "replication_type")
	aclReplIndexDesc       = desc("acl_replication_index", "Raft index in the primary up to which ACL policies, roles or tokens were replicated.", "type")
	aclReplLastSuccessDesc = desc("acl_replication_last_success_timestamp_seconds", "When ACL replication last succeeded, as Unix time in seconds; absent before the first success.")
	aclReplLastErrorDesc   = desc("acl_replication_last_error_timestamp_seconds", "When ACL replication last failed, as Unix time in seconds; absent before the first failure.")
)

type aclReplicationScraper struct{}

func (aclReplicationScraper) Name() string           { return endpointACLReplication }
func (aclReplicationScraper) Core() bool             { return false }
func (aclReplicationScraper) Enabled(o Options) bool { return o.ACLReplication }
func (aclReplicationScraper) Requests() int          { return 1 }

func (aclReplicationScraper) Descs() []*prometheus.Desc {
	return []*prometheus.Desc{aclReplEnabledDesc, aclReplRunningDesc, aclReplInfoDesc, aclReplIndexDesc, aclReplLastSuccessDesc, aclReplLastErrorDesc}
}

func (aclReplicationScraper) Scrape(ctx context.Context, t *target) ([]sample, error) {
	r, err := t.agent.ACLReplication(ctx, t.token)
	if err != nil {
		return nil, err
	}
	return aclReplicationSamples(r), nil
}

func aclReplicationSamples(r *consul.ACLReplication) []sample {
	out := []sample{
		{desc: aclReplEnabledDesc, value: boolValue(r.Enabled)},
		{desc: aclReplRunningDesc, value: boolValue(r.Running)},
	}
	if r.Enabled {
		out = append(out, sample{desc: aclReplInfoDesc, value: 1, labels: []string{r.SourceDatacenter, r.ReplicationType}})
	}
	for _, idx := range []struct {
		kind string
		v    *float64
	}{{"policies", r.Policies}, {"roles", r.Roles}, {"tokens", r.Tokens}} {
		if idx.v != nil {
			out = append(out, sample{desc: aclReplIndexDesc, value: *idx.v, labels: []string{idx.kind}})
		}
	}
	out = appendTimestamp(out, aclReplLastSuccessDesc, r.LastSuccess)
	return appendTimestamp(out, aclReplLastErrorDesc, r.LastError)
}
