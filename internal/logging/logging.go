// Package logging is the one way out for every line the process writes: the
// exporter's own go-kit logger, exporter-toolkit's slog logger, the
// standard library's default logger (net/http's Transport writes
// "Unsolicited response received on idle HTTP channel" there, quoting what
// the agent sent) and http.Server's ErrorLog (TLS handshake errors, each
// naming the caller). All of them end in the same pipeline: the configured
// level, the process-wide log budget, the token redactor, then the
// configured format. Before, the last two wrote raw lines to stderr, past
// the redactor: an agent echoing the request headers after its answer put
// the whole ACL token in the log.
package logging

import (
	"fmt"
	"io"
	stdlog "log"
	"log/slog"
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
	// The bridge adds its own time and caller.
	l.Slog = slog.New(sloggokit.NewGoKitHandler(filtered, &sl))
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
