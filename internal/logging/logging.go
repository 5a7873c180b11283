// Package logging is the one way out for every line the process writes: the
// exporter's own go-kit logger, exporter-toolkit's slog logger, the
// standard library's default logger (net/http's Transport writes
// "Unsolicited response received on idle HTTP channel" there, quoting what
// the agent sent) and http.Server's ErrorLog (TLS handshake errors, each
// naming the caller). All of them end in the same pipeline: the configured
// level, the process-wide log budget, the token redactor, then the
// configured format. Left to themselves the last two write raw lines to
// stderr, past the redactor: an agent echoing the request headers after
// its answer put the whole ACL token in the log (docs/security.md).
package logging

import (
	"context"
	"fmt"
	"io"
	stdlog "log"
	"log/slog"
	"reflect"
	"slices"
	"sync/atomic"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	sloggokit "github.com/tjhop/slog-gokit"
)

// Logger holds the process's logger in the forms its writers want.
type Logger struct {
	// Kit is the exporter's own logger; it adds ts and caller.
	Kit log.Logger
	// Slog is for exporter-toolkit and slog's default.
	Slog *slog.Logger
	// Std is for http.Server.ErrorLog: what net/http says about a
	// connection (a failed TLS handshake, a panic) is a warning.
	Std *stdlog.Logger

	redact atomic.Pointer[func(string) string]
	budget *budget
	out    log.Logger
}

// New writes lines of at least lvl (debug, info, warn, error) in format
// (logfmt, json) to w, under the budget cfg.
func New(w io.Writer, lvl, format string, cfg BudgetConfig) *Logger {
	return newLogger(w, lvl, format, cfg, time.Now)
}

func newLogger(w io.Writer, lvl, format string, cfg BudgetConfig, now func() time.Time) *Logger {
	sw := log.NewSyncWriter(w)
	l := &Logger{out: log.NewLogfmtLogger(sw)}
	if format == "json" {
		l.out = log.NewJSONLogger(sw)
	}
	l.budget = newBudget(cfg, now)
	l.budget.summarize = l.summarize
	filtered := level.NewFilter(gate{l}, level.Allow(level.ParseDefault(lvl, level.InfoValue())))
	l.Kit = log.With(filtered, "ts", log.DefaultTimestampUTC, "caller", log.DefaultCaller)
	var sl slog.LevelVar
	sl.Set(map[string]slog.Level{"debug": slog.LevelDebug, "warn": slog.LevelWarn, "error": slog.LevelError}[lvl]) // info: 0
	// The bridge adds its own time and caller; kitKeys words them as Kit does.
	l.Slog = slog.New(textBytes{sloggokit.NewGoKitHandler(kitKeys{filtered}, &sl)})
	l.Std = slog.NewLogLogger(l.Slog.Handler(), slog.LevelWarn)
	return l
}

// Install makes l the process's default logger: slog's default, and through
// it (Go's slog.SetDefault) the standard library's log package, at warning
// level, for the packages that write there on their own.
func (l *Logger) Install() {
	slog.SetDefault(l.Slog)
	slog.SetLogLoggerLevel(slog.LevelWarn)
}

// SetRedact sets what every line passes through before it is written: the
// token's redactor, once the token is known (it may change: redact is
// called for each line).
func (l *Logger) SetRedact(redact func(string) string) { l.redact.Store(&redact) }

// Flush writes the summary of lines held back, now rather than at the end
// of the interval (at shutdown).
func (l *Logger) Flush() { l.budget.flush() }

// kitKeys gives the slog bridge's lines the keys and order of Kit's (level,
// ts in UTC, caller, msg), so that a log pipeline parses exporter-toolkit's
// and the standard library's lines as it parses the exporter's own: the
// bridge writes slog's "time", in local time, after caller.
type kitKeys struct{ next log.Logger }

func (k kitKeys) Log(kv ...any) error {
	out := make([]any, 0, len(kv))
	var ts []any
	for i := 0; i+1 < len(kv); i += 2 {
		if t, ok := kv[i+1].(time.Time); ok && kv[i] == slog.TimeKey && ts == nil {
			ts = []any{"ts", t.UTC().Format(time.RFC3339Nano)}
			continue
		}
		out = append(out, kv[i], kv[i+1])
	}
	if ts != nil {
		at := 0
		if len(out) >= 2 && out[0] == level.Key() {
			at = 2 // after level, as Kit's lines have it
		}
		out = slices.Insert(out, at, ts...)
	}
	return k.next.Log(out...)
}

// textBytes hands the slog bridge byte slices as text: the bridge would
// print them as fmt does, a list of decimal numbers the redactor cannot
// read.
type textBytes struct{ slog.Handler }

func (h textBytes) Handle(ctx context.Context, r slog.Record) error {
	out := slog.NewRecord(r.Time, r.Level, r.Message, r.PC)
	r.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(bytesAsText(a))
		return true
	})
	return h.Handler.Handle(ctx, out)
}

func (h textBytes) WithAttrs(as []slog.Attr) slog.Handler {
	text := make([]slog.Attr, len(as))
	for i, a := range as {
		text[i] = bytesAsText(a)
	}
	return textBytes{h.Handler.WithAttrs(text)}
}

func (h textBytes) WithGroup(name string) slog.Handler { return textBytes{h.Handler.WithGroup(name)} }

func bytesAsText(a slog.Attr) slog.Attr {
	a.Value = a.Value.Resolve()
	switch a.Value.Kind() {
	case slog.KindGroup:
		g := a.Value.Group()
		text := make([]any, len(g))
		for i, m := range g {
			text[i] = bytesAsText(m)
		}
		return slog.Group(a.Key, text...)
	case slog.KindAny:
		if b, ok := byteSlice(a.Value.Any()); ok {
			return slog.String(a.Key, string(b))
		}
	}
	return a
}

// byteSlice is v's bytes when v is a []byte of any named type.
func byteSlice(v any) ([]byte, bool) {
	rv := reflect.ValueOf(v)
	if rv.Kind() == reflect.Slice && rv.Type().Elem().Kind() == reflect.Uint8 {
		return rv.Bytes(), true
	}
	return nil, false
}

// gate lets a line through the budget, then redacts and writes it.
type gate struct{ l *Logger }

func (g gate) Log(kv ...any) error {
	msg := ""
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i] == "msg" {
			msg = fmt.Sprint(kv[i+1])
			break
		}
	}
	if !g.l.budget.allow(kindOf(msg)) {
		return nil
	}
	return g.l.write(kv)
}

func (l *Logger) write(kv []any) error {
	if p := l.redact.Load(); p != nil {
		red := *p
		out := make([]any, len(kv))
		for i, v := range kv {
			out[i] = redactValue(red, v)
		}
		kv = out
	}
	return l.out.Log(kv...)
}

// redactValue runs every value that prints as text through red; numbers,
// times and booleans print the same and cannot hold a token.
func redactValue(red func(string) string, v any) any {
	switch x := v.(type) {
	case nil, bool, int, int64, uint64, float64, time.Time, time.Duration, level.Value:
		return v
	case string:
		return red(x)
	case error:
		return red(x.Error())
	default:
		// logfmt writes bytes as they are and JSON as base64: as text
		// they are redacted like any string ([]byte, json.RawMessage, ...).
		if b, ok := byteSlice(v); ok {
			return red(string(b))
		}
		s := fmt.Sprint(x)
		if r := red(s); r != s {
			return r
		}
		return v
	}
}

func (l *Logger) summarize(notLogged, kinds int, top string, over time.Duration) {
	_ = l.write([]any{"ts", l.budget.now().UTC(), "level", level.WarnValue(),
		"msg", "Log budget exceeded: similar lines were not logged",
		"not_logged", notLogged, "kinds", kinds, "most_of", top, "over", over.Round(time.Second)})
}
