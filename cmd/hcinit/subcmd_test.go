package main

import (
	"slices"
	"testing"

	"github.com/wisdom-oss/go-healthcheck/internal/subcmd"
)

// internal/subcmd finds -healthcheck among hcinit's options before the option
// table exists (in a package initializer): its list of options that take a
// value must be this table's.
func TestSubcmdValueOptions(t *testing.T) {
	var want []string
	for _, o := range options() {
		if o.arg == "" {
			continue
		}
		want = append(want, o.long)
		if o.short != 0 {
			want = append(want, string(o.short))
		}
	}
	slices.Sort(want)
	have := slices.Clone(subcmd.ValueOptions)
	slices.Sort(have)
	if !slices.Equal(have, want) {
		t.Errorf("internal/subcmd.ValueOptions = %q, want %q (the options that take a value)", have, want)
	}
}
