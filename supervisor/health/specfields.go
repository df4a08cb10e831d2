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
	err := sp.fromFields(fields)
	if err == nil {
		err = sp.setArgv(argv)
	}
	if err == nil {
		err = sp.setHeaders(headers)
	}
	if err == nil {
		if err = sp.validate(); err != nil {
			err = errors.New(redactURLs(err.Error()))
		}
	}
	return sp, err
}

// fromFields applies fields: the type first, then every other key.
func (sp *Spec) fromFields(fields []SpecField) error {
	items := make([]item, len(fields))
	for i, f := range fields {
		items[i] = item{f.Key, f.Value}
	}
	allowed, err := sp.setKind(items, "type", "no type: want type: process, http, https, tcp, grpc, exec, file, notify, signal or delegate")
	if err != nil {
		return err
	}
	for _, it := range items {
		switch it.key {
		case "type":
			continue
		case "command", "arg":
			return fmt.Errorf("key %q: give an exec check's argv as a list (command: [/bin/probe, -q])", it.key)
		}
		if err := sp.set(it.key, it.val, allowed); err != nil {
			return errors.New(redactURLs(err.Error()))
		}
	}
	return nil
}

// setArgv sets an exec check's argv, given as a list (nil: none given).
func (sp *Spec) setArgv(argv []string) error {
	if argv == nil {
		return nil
	}
	if sp.Kind != KindExec {
		return fmt.Errorf("key \"command\" does not apply to a %s check", sp.Kind)
	}
	sp.Argv = append([]string(nil), argv...)
	return nil
}

// setHeaders sets an http check's request headers (nil: none given).
func (sp *Spec) setHeaders(headers []Header) error {
	if headers == nil {
		return nil
	}
	if sp.Kind != KindHTTP && sp.Kind != KindHTTPS {
		return fmt.Errorf("key \"httpHeaders\" does not apply to a %s check", sp.Kind)
	}
	for _, h := range headers {
		if !isToken(h.Name) {
			return fmt.Errorf("httpHeaders: %q is not a valid header name", h.Name)
		}
		if strings.ContainsAny(h.Value, "\r\n\x00") {
			return fmt.Errorf("httpHeaders: the value of %s holds a line break or NUL", h.Name)
		}
	}
	sp.Headers = append([]Header(nil), headers...)
	return nil
}

// IsSpecKey reports whether key is a key of some check kind ("type" included).
func IsSpecKey(key string) bool { return isKey(key) }

// RedactURLs replaces the password of every URL in s with ***.
func RedactURLs(s string) string { return redactURLs(s) }
