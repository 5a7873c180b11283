package consul

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// How a decoding error is worded for a log line, whichever decoder (decode.go,
// jsonscan.go, an endpoint's file) found it.

// jsonError is a decoding error worded for a log line. A syntax error
// quotes the start of the body, from head; the quote is made when the error
// is printed, so that head can still be masked (see Redactor.Mask). head is
// the error's own copy: the members list reader overwrites its window as
// it reads on, while the error lives on into the log line.
type jsonError struct {
	msg  string
	head []byte // nil: nothing quoted
	// From the structural scanner: the index in head and what was wrong.
	at   int
	what string
}

func (e *jsonError) Error() string {
	if e.head == nil {
		return e.msg
	}
	return fmt.Sprintf("%s (body starts %q)", e.msg, snippet(e.head[:min(len(e.head), 40)]))
}

// headOf copies the start of a body that an error may quote: 40 bytes are
// quoted, the rest is context for masking a token across that cut.
func headOf(body []byte) []byte {
	return bytes.Clone(body[:min(len(body), ErrorHeadBytes)])
}

// wordJSONError words encoding/json's syntax and type errors; base is the
// offset in the body of what was being decoded. Other errors give nil.
func wordJSONError(err error, head []byte, want string, base int64) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return &jsonError{msg: fmt.Sprintf("invalid JSON at byte %d: %v", base+syn.Offset, syn), head: headOf(head)}
	case errors.As(err, &typ):
		if typ.Field != "" {
			return &jsonError{msg: fmt.Sprintf("%s: got a JSON %s, want %s", typ.Field, typ.Value, typ.Type)}
		}
		return &jsonError{msg: fmt.Sprintf("got a JSON %s, want %s", typ.Value, want)}
	}
	return nil
}
