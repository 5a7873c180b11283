package consultest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"
)

// The topologies beyond one datacenter: two federated
// datacenters with ACL replication, two peered clusters, and a cluster of
// mixed Consul versions. Each is a set of Clusters, made of real agents.

// ReplicationRules is the policy of the secondary's ACL replication token,
// as Consul's documentation gives it for token replication.
const ReplicationRules = `acl = "write"
operator = "write"
service_prefix "" {
  policy = "read"
  intentions = "read"
}`

// Federation is a primary and a secondary datacenter, WAN-federated, with
// ACLs on (default deny) and ACL token replication from the primary.
type Federation struct {
	Primary, Secondary *Cluster
	// ReplicationToken is the secret of the secondary's replication token.
	ReplicationToken string
}

// FederationOptions shape a Federation: one server per datacenter on
// 127.0.0.Octet (dc1, the primary) and Octet+1 (dc2).
type FederationOptions struct {
	Octet    int
	Binary   string
	ACLToken string // the management token, as for Options.ACLToken
}

// Fixed secrets make a failed run's logs easy to read; they are test-only.
const federationReplicationSecret = "5e1f2b3c-0000-4000-8000-00000000a11c"

// StartFederation starts the primary, makes the replication token there,
// then starts the secondary joined to it over the WAN, and waits until the
// secondary replicates tokens.
func StartFederation(t testing.TB, o FederationOptions) *Federation {
	t.Helper()
	f := &Federation{ReplicationToken: federationReplicationSecret}
	f.Primary = Start(t, Options{Servers: 1, Octet: o.Octet, Binary: o.Binary, ACLToken: o.ACLToken, Datacenter: "dc1", PrimaryDatacenter: "dc1"})
	f.Primary.MakeToken("replication", ReplicationRules, f.ReplicationToken)
	f.Secondary = Start(t, Options{Servers: 1, Octet: o.Octet + 1, Binary: o.Binary, ACLToken: o.ACLToken,
		Datacenter: "dc2", PrimaryDatacenter: "dc1", JoinWAN: []string{f.Primary.Agents[0].WANAddr()}, ReplicationToken: f.ReplicationToken})
	if err := f.WaitReplicating(60 * time.Second); err != nil {
		t.Fatalf("federation: %v", err)
	}
	return f
}

// Replication is /v1/acl/replication.
type Replication = api.ACLReplicationStatus

// Replication reads the agent's ACL replication status.
func (c *Cluster) Replication(a *Agent) (Replication, error) {
	r, _, err := a.api.ACL().Replication(nil)
	if err != nil {
		return Replication{}, err
	}
	return *r, nil
}

// WaitReplicating waits until the secondary replicates tokens from the
// primary and its last success is newer than its last error.
func (f *Federation) WaitReplicating(timeout time.Duration) error {
	return waitFor(timeout, func() error {
		r, err := f.Secondary.Replication(f.Secondary.Agents[0])
		if err != nil {
			return err
		}
		if !r.Running || r.ReplicationType != "tokens" || r.ReplicatedTokenIndex == 0 || !r.LastSuccess.After(r.LastError) {
			return fmt.Errorf("replication not healthy yet: %+v", r)
		}
		return nil
	})
}

// WaitWAN waits until each datacenter's server sees n alive servers in the
// WAN pool.
func (f *Federation) WaitWAN(n int, timeout time.Duration) error {
	return waitFor(timeout, func() error {
		for _, c := range []*Cluster{f.Primary, f.Secondary} {
			alive, err := c.WANAlive(c.Agents[0])
			if err != nil {
				return err
			}
			if alive != n {
				return fmt.Errorf("%s sees %d alive WAN servers, want %d", c.Datacenter(), alive, n)
			}
		}
		return nil
	})
}

// WANAlive counts the alive servers in the agent's WAN pool.
func (c *Cluster) WANAlive(a *Agent) (int, error) {
	ms, err := c.WANMembers(a)
	n := 0
	for _, m := range ms {
		if m.Status == 1 {
			n++
		}
	}
	return n, err
}

// WANMembers reads the agent's WAN pool.
func (c *Cluster) WANMembers(a *Agent) ([]*api.AgentMember, error) {
	return a.api.Agent().Members(true)
}

// MakeToken creates a policy of rules named name and a token with it whose
// secret is secret ("" lets Consul choose); it returns the secret.
func (c *Cluster) MakeToken(name, rules, secret string) string {
	c.t.Helper()
	acl := c.Agents[0].api.ACL()
	if _, _, err := acl.PolicyCreate(&api.ACLPolicy{Name: name, Rules: rules}, nil); err != nil {
		c.t.Fatalf("creating policy %s: %v", name, err)
	}
	tok, _, err := acl.TokenCreate(&api.ACLToken{Description: name, SecretID: secret, Policies: []*api.ACLTokenPolicyLink{{Name: name}}}, nil)
	if err != nil {
		c.t.Fatalf("creating token %s: %v", name, err)
	}
	c.tokens = append(c.tokens, tok)
	return tok.SecretID
}

// DeleteToken deletes the token MakeToken made with secret.
func (c *Cluster) DeleteToken(secret string) {
	c.t.Helper()
	for _, tk := range c.tokens {
		if tk.SecretID == secret {
			if _, err := c.Agents[0].api.ACL().TokenDelete(tk.AccessorID, nil); err != nil {
				c.t.Fatalf("deleting token %s: %v", tk.Description, err)
			}
			return
		}
	}
	c.t.Fatalf("no token made with that secret")
}

// Peered is two clusters peered with each other, connect and peering on,
// and a service ("web") of Accepting exported to Dialing.
type Peered struct {
	Accepting, Dialing *Cluster
}

// Peer names: each cluster's name for the other.
const (
	PeerOfAccepting = "dialer"   // Accepting's name for Dialing
	PeerOfDialing   = "acceptor" // Dialing's name for Accepting
)

// StartPeered starts two one-server clusters (dc "alpha" on Octet, "beta"
// on Octet+1), peers them, registers and exports a service, and waits until
// both sides are ACTIVE and Dialing imports the service.
func StartPeered(t testing.TB, octet int, binary, aclToken string) *Peered {
	t.Helper()
	p := &Peered{
		Accepting: Start(t, Options{Servers: 1, Octet: octet, Binary: binary, ACLToken: aclToken, Datacenter: "alpha", Peering: true}),
		Dialing:   Start(t, Options{Servers: 1, Octet: octet + 1, Binary: binary, ACLToken: aclToken, Datacenter: "beta", Peering: true}),
	}
	a := p.Accepting.Agents[0]
	reg := map[string]any{"Name": "web", "ID": "web-1", "Port": 8080}
	if body, code, err := p.Accepting.Put(a, "/v1/agent/service/register", reg); err != nil || code != 200 {
		t.Fatalf("registering web: %v HTTP %d %s", err, code, body)
	}
	exp := map[string]any{"Kind": "exported-services", "Name": "default",
		"Services": []map[string]any{{"Name": "web", "Consumers": []map[string]string{{"Peer": PeerOfAccepting}}}}}
	if body, code, err := p.Accepting.Put(a, "/v1/config", exp); err != nil || code != 200 {
		t.Fatalf("exporting web: %v HTTP %d %s", err, code, body)
	}
	p.Establish(t)
	if err := p.WaitActive(90*time.Second, 1); err != nil {
		t.Fatalf("peering: %v", err)
	}
	return p
}

// Establish (re)creates the peering: a token from Accepting, used by Dialing.
func (p *Peered) Establish(t testing.TB) {
	t.Helper()
	ctx := context.Background()
	var tok *api.PeeringGenerateTokenResponse
	err := waitFor(30*time.Second, func() (err error) {
		tok, _, err = p.Accepting.Agents[0].api.Peerings().GenerateToken(ctx, api.PeeringGenerateTokenRequest{PeerName: PeerOfAccepting}, nil)
		return err
	})
	if err != nil {
		t.Fatalf("peering token: %v", err)
	}
	req := api.PeeringEstablishRequest{PeerName: PeerOfDialing, PeeringToken: tok.PeeringToken}
	if _, _, err := p.Dialing.Agents[0].api.Peerings().Establish(ctx, req, nil); err != nil {
		t.Fatalf("peering establish: %v", err)
	}
}

// Peerings reads an agent's peerings.
func (c *Cluster) Peerings(a *Agent) ([]*api.Peering, error) {
	ps, _, err := a.api.Peerings().List(context.Background(), nil)
	return ps, err
}

// WaitActive waits until both sides list their peering ACTIVE and the
// dialing side imports imported services.
func (p *Peered) WaitActive(timeout time.Duration, imported int) error {
	return waitFor(timeout, func() error {
		for _, side := range []struct {
			c    *Cluster
			name string
		}{{p.Accepting, PeerOfAccepting}, {p.Dialing, PeerOfDialing}} {
			ps, err := side.c.Peerings(side.c.Agents[0])
			if err != nil {
				return err
			}
			if len(ps) != 1 || ps[0].Name != side.name || ps[0].State != "ACTIVE" {
				return fmt.Errorf("%s lists %+v", side.c.Datacenter(), ps)
			}
			if side.c == p.Dialing && len(ps[0].StreamStatus.ImportedServices) != imported {
				return fmt.Errorf("%s imports %v", side.c.Datacenter(), ps[0].StreamStatus.ImportedServices)
			}
		}
		return nil
	})
}

func waitFor(timeout time.Duration, f func() error) error {
	deadline := time.Now().Add(timeout)
	for {
		err := f()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("after %s: %w", timeout, err)
		}
		time.Sleep(250 * time.Millisecond)
	}
}
