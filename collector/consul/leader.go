package consul

import (
	"bytes"
	"context"
	"fmt"
)

// Leader is the address of the Raft leader the agent knows of, "" for none.
func (a *Agent) Leader(ctx context.Context, token string) (string, error) {
	body, err := a.fetch(ctx, PathLeader, token)
	if err == nil {
		var addr string
		if addr, err = decodeMasked(body, token, DecodeLeader); err == nil {
			return addr, nil
		}
	}
	return "", fmt.Errorf("%s: %w", PathLeader, err)
}

// DecodeLeader decodes /v1/status/leader: a JSON string, "" when the agent
// knows of no leader.
func DecodeLeader(body []byte) (string, error) {
	var s string
	if err := decodeStrict(body, &s, "a JSON string"); err != nil {
		return "", err
	}
	// encoding/json leaves a string untouched for null; Consul never sends
	// null here, so it is not "no leader".
	if t := bytes.TrimSpace(body); t[0] != '"' {
		return "", fmt.Errorf("got %s, want a JSON string", kindOf(t))
	}
	if s != "" {
		if err := checkAddress(s); err != nil {
			return "", err
		}
	}
	return s, nil
}
