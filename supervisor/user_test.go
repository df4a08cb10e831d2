package supervisor_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wisdom-oss/go-healthcheck/supervisor"
)

func TestLookupUserErrors(t *testing.T) {
	dir := t.TempDir()
	passwd, group := filepath.Join(dir, "passwd"), filepath.Join(dir, "group")
	if err := os.WriteFile(passwd, []byte("# comment\n\nbad:x:one:1::/:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(group, []byte("weird:x:many:\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ spec, want string }{
		{"", "empty user"},
		{":0", "empty user"},
		{"app:", "empty group"},
		{"bad", "bad entry"},
		{"app:weird", "bad entry"},
		{"ghost", "not found"},
		{"4294967295", "(uid_t)-1"},
		{"65534:4294967295", "(uid_t)-1"},
		{"4294967296", "a uid is at most 4294967294"},
		{"0:99999999999", "a gid is at most 4294967294"},
	} {
		_, err := supervisor.LookupUser(tc.spec, passwd, group)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("LookupUser(%q): %v, want an error with %q", tc.spec, err, tc.want)
		}
	}
	// Without the files (a scratch image), numbers still work.
	id, err := supervisor.LookupUser("65534:65534", filepath.Join(dir, "none"), filepath.Join(dir, "none"))
	if err != nil || id.Cred.Uid != 65534 || id.Cred.Gid != 65534 || len(id.Cred.Groups) != 0 || id.Home != "/" {
		t.Errorf("numeric user without passwd: %+v %v", id, err)
	}
}
