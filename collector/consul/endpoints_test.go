package consul

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// agentAnswering is an Agent whose every request gets code and body.
func agentAnswering(t *testing.T, code int, body string) *Agent {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(code)
		w.Write([]byte(body))
	}))
	t.Cleanup(srv.Close)
	c, err := NewClient(ClientOptions{})
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(srv.URL)
	return c.NewAgent(u)
}

// A 403 names the right the collector needs; a 404 is ErrNotServed; ACLs
// turned off are no replication, not a failure.
func TestEndpointAnswers(t *testing.T) {
	ctx := context.Background()
	denied := agentAnswering(t, 403, "Permission denied: token with AccessorID 'x' lacks permission 'peering:read'")
	if _, err := denied.Peerings(ctx, "tok"); err == nil || !strings.Contains(err.Error(), "(the peering collector needs peering:read)") ||
		!strings.HasPrefix(err.Error(), PathPeerings+": ACL denied") {
		t.Errorf("Peerings on 403: %v", err)
	}
	if _, err := denied.AutopilotConfiguration(ctx, ""); err == nil || !strings.Contains(err.Error(), "operator:read") {
		t.Errorf("AutopilotConfiguration on 403: %v", err)
	}
	missing := agentAnswering(t, 404, "Invalid URL path: not a recognized HTTP API endpoint")
	if _, err := missing.Peerings(ctx, ""); !errors.Is(err, ErrNotServed) {
		t.Errorf("Peerings on 404: %v, want ErrNotServed", err)
	}
	if _, err := missing.ACLReplication(ctx, ""); !errors.Is(err, ErrNotServed) {
		t.Errorf("ACLReplication on 404: %v, want ErrNotServed", err)
	}
	off := agentAnswering(t, 401, "ACL support disabled")
	if r, err := off.ACLReplication(ctx, ""); err != nil || r.Enabled || r.Running || r.Tokens != nil {
		t.Errorf("ACLReplication with ACLs off: %+v, %v", r, err)
	}
	broken := agentAnswering(t, 500, "No path to datacenter")
	if _, err := broken.DatacenterLeader(ctx, "", "dc 2"); err == nil || !strings.Contains(err.Error(), "/v1/status/leader?dc=dc+2: HTTP 500") {
		t.Errorf("DatacenterLeader on 500: %v", err)
	}
}
