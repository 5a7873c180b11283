package logging

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	stdlog "log"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/go-kit/log/level"
	"github.com/go-logfmt/logfmt"

	"github.com/consul-status-exporter/consul_status_exporter/collector/consul"
	"github.com/consul-status-exporter/consul_status_exporter/internal/consultest"
)

const token = "5f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b"

// Every way a line can be written in the process, with the token in it:
// none of the token comes out, and every line is in the configured format.
func TestEveryPathRedactedAndFormatted(t *testing.T) {
	for _, format := range []string{"logfmt", "json"} {
		t.Run(format, func(t *testing.T) {
			var buf bytes.Buffer
			l := New(&buf, "info", format, DefaultBudget)
			l.SetRedact(consul.NewRedactor(token).Redact)
			oldSlog, oldFlags := slog.Default(), stdlog.Flags()
			l.Install()
			defer func() {
				slog.SetDefault(oldSlog)
				stdlog.SetOutput(os.Stderr)
				stdlog.SetFlags(oldFlags)
				slog.SetLogLoggerLevel(slog.LevelInfo)
			}()
			paths := map[string]func(){
				"go-kit": func() {
					level.Error(l.Kit).Log("msg", "own "+token, "err", errors.New("x-consul-token: "+strings.ToUpper(token)))
				},
				"go-kit key": func() { level.Info(l.Kit).Log("msg", "own key", token, 1) },
				"go-kit bytes": func() {
					level.Info(l.Kit).Log("msg", "own bytes", "head", []byte("X-Consul-Token: "+token), "raw", json.RawMessage(`"`+token+`"`))
				},
				"exporter-toolkit": func() { l.Slog.Error("toolkit "+token, "err", errors.New(token)) },
				"slog default":     func() { slog.Warn("slog "+token, "v", []byte(token)) },
				"slog bytes in a group": func() {
					l.Slog.With("head", []byte(token)).Info("group", slog.Group("g", "raw", json.RawMessage(token)))
				},
				"log package": func() {
					stdlog.Printf("Unsolicited response received on idle HTTP channel starting with %q", "X-Consul-Token: "+token)
				},
				"http.Server.Error": func() { l.Std.Printf("http: TLS handshake error from 127.0.0.1:1: %s", token) },
			}
			for name, write := range paths {
				before := buf.Len()
				write()
				if buf.Len() == before {
					t.Errorf("%s: nothing written", name)
				}
			}
			out := buf.String()
			if p := consultest.TokenLeak(out, token); p != "" {
				t.Errorf("%q of the token in the output:\n%s", p, out)
			}
			for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
				if err := checkFormat(format, line); err != nil {
					t.Errorf("not %s: %v: %s", format, err, line)
				}
			}
			if n := strings.Count(out, "\n"); n != len(paths) {
				t.Errorf("%d lines for %d writes:\n%s", n, len(paths), out)
			}
		})
	}
}

// checkFormat parses line as one record of format with the keys of the
// exporter's own lines: level, ts, caller (in that order in logfmt; the log
// package's lines have none), msg.
func checkFormat(format, line string) error {
	kv := map[string]string{}
	var order []string
	if format == "json" {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			return err
		}
		for k, v := range m {
			kv[k], _ = v.(string)
		}
	} else {
		d := logfmt.NewDecoder(strings.NewReader(line))
		for d.ScanRecord() {
			for d.ScanKeyval() {
				kv[string(d.Key())] = string(d.Value())
				order = append(order, string(d.Key()))
			}
		}
		if d.Err() != nil {
			return d.Err()
		}
	}
	if kv["level"] == "" || kv["msg"] == "" {
		return errors.New("no level or msg")
	}
	if _, ok := kv["time"]; ok {
		return errors.New(`a "time" key beside ts`)
	}
	if ts, err := time.Parse(time.RFC3339Nano, kv["ts"]); err != nil || ts.Location() != time.UTC {
		return fmt.Errorf("ts %q is not RFC 3339 in UTC", kv["ts"])
	}
	if format == "logfmt" && (len(order) < 3 || order[0] != "level" || order[1] != "ts" || order[2] != "caller" && order[2] != "msg") {
		return fmt.Errorf("keys in the order %q, want level, ts, then caller (where the writer has one)", order)
	}
	return nil
}
