package health

import (
	"errors"
	"fmt"
	"strings"
)

// Header is one HTTP request header of an http or https check (kubelet's
// httpHeaders entry).
type Header struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// SpecField is one key of a check given as a mapping, as a config file gives
// it: the same keys as a one-line --check spec.
type SpecField struct {
	Key, Value string
}

// NewSpec builds a check from fields, as ParseSpec builds one from a one-line
// spec, with what a one-line spec expresses badly given whole: argv for an
// exec check (no splitting on spaces) and headers for an http check. Values
// are taken as they are: commas and spaces need no escaping. Its errors name
// the key.
func NewSpec(fields []SpecField, argv []string, headers []Header) (Spec, error) {
	sp := blankSpec()
	for _, f := range fields {
		if f.Key == "type" {
			if sp.Kind != "" {
				return sp, errors.New("type given twice")
			}
			sp.Kind = strings.TrimSpace(f.Value)
		}
	}
	if sp.Kind == "" {
		return sp, errors.New("no type: want type: process, http, https, tcp, grpc, exec, file, notify, signal or delegate")
	}
	allowed, ok := kindKeys[sp.Kind]
	if !ok {
		return sp, fmt.Errorf("unknown type %q (want process, http, https, tcp, grpc, exec, file, notify, signal or delegate)", sp.Kind)
	}
	for _, f := range fields {
		switch f.Key {
		case "type":
			continue
		case "command", "arg":
			return sp, fmt.Errorf("key %q: give an exec check's argv as a list (command: [/bin/probe, -q])", f.Key)
		}
		if err := sp.set(f.Key, f.Value, allowed); err != nil {
			return sp, errors.New(redactURLs(err.Error()))
		}
	}
	if argv != nil {
		if sp.Kind != KindExec {
			return sp, fmt.Errorf("key \"command\" does not apply to a %s check", sp.Kind)
		}
		sp.Argv = append([]string(nil), argv...)
	}
	if headers != nil {
		if sp.Kind != KindHTTP && sp.Kind != KindHTTPS {
			return sp, fmt.Errorf("key \"httpHeaders\" does not apply to a %s check", sp.Kind)
		}
		for _, h := range headers {
			if !isToken(h.Name) {
				return sp, fmt.Errorf("httpHeaders: %q is not a valid header name", h.Name)
			}
			if strings.ContainsAny(h.Value, "\r\n\x00") {
				return sp, fmt.Errorf("httpHeaders: the value of %s holds a line break or NUL", h.Name)
			}
		}
		sp.Headers = append([]Header(nil), headers...)
	}
	if err := sp.validate(); err != nil {
		return sp, errors.New(redactURLs(err.Error()))
	}
	return sp, nil
}

// IsSpecKey reports whether key is a key of some check kind ("type" included).
func IsSpecKey(key string) bool { return isKey(key) }

// RedactURLs replaces the password of every URL in s with ***.
func RedactURLs(s string) string { return redactURLs(s) }
