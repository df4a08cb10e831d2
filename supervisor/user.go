package supervisor

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// Identity is who the child runs as.
type Identity struct {
	Cred *syscall.Credential
	Home string
}

// LookupUser resolves --user USER[:GROUP]. Names are looked up in /etc/passwd and
// /etc/group when those exist (a scratch image has neither: use numbers there).
// Supplementary groups are every group that lists the user; the primary group is
// GROUP when given, else the user's from /etc/passwd, else the uid's number.
func LookupUser(spec, passwdFile, groupFile string) (Identity, error) {
	userPart, groupPart, hasGroup := strings.Cut(spec, ":")
	if userPart == "" {
		return Identity{}, fmt.Errorf("user %q: empty user", spec)
	}
	passwd, _ := readColonFile(passwdFile)
	groups, _ := readColonFile(groupFile)

	id := Identity{Home: "/"}
	var uid, gid uint64
	gidKnown := false
	name := ""
	if n, err := strconv.ParseUint(userPart, 10, 32); err == nil {
		uid = n
		for _, f := range passwd {
			if len(f) >= 7 && f[2] == userPart {
				name = f[0]
				if g, err := strconv.ParseUint(f[3], 10, 32); err == nil {
					gid, gidKnown = g, true
				}
				id.Home = f[5]
				break
			}
		}
	} else {
		found := false
		for _, f := range passwd {
			if len(f) >= 7 && f[0] == userPart {
				u, err1 := strconv.ParseUint(f[2], 10, 32)
				g, err2 := strconv.ParseUint(f[3], 10, 32)
				if err1 != nil || err2 != nil {
					return Identity{}, fmt.Errorf("user %q: bad entry in %s", userPart, passwdFile)
				}
				uid, gid, gidKnown, name, id.Home, found = u, g, true, f[0], f[5], true
				break
			}
		}
		if !found {
			return Identity{}, fmt.Errorf("user %q: not found in %s (use a numeric uid)", userPart, passwdFile)
		}
	}
	if hasGroup {
		if groupPart == "" {
			return Identity{}, fmt.Errorf("user %q: empty group", spec)
		}
		if n, err := strconv.ParseUint(groupPart, 10, 32); err == nil {
			gid = n
		} else {
			found := false
			for _, f := range groups {
				if len(f) >= 3 && f[0] == groupPart {
					g, err := strconv.ParseUint(f[2], 10, 32)
					if err != nil {
						return Identity{}, fmt.Errorf("group %q: bad entry in %s", groupPart, groupFile)
					}
					gid, found = g, true
					break
				}
			}
			if !found {
				return Identity{}, fmt.Errorf("group %q: not found in %s (use a numeric gid)", groupPart, groupFile)
			}
		}
		gidKnown = true
	}
	if !gidKnown {
		gid = uid
	}
	supp := []uint32{}
	if name != "" {
		for _, f := range groups {
			if len(f) < 4 {
				continue
			}
			for _, m := range strings.Split(f[3], ",") {
				if m == name {
					if g, err := strconv.ParseUint(f[2], 10, 32); err == nil && g != gid {
						supp = append(supp, uint32(g))
					}
				}
			}
		}
	}
	// Go's fork sets supplementary groups, then gid, then uid, in that order.
	id.Cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: supp}
	if id.Home == "" {
		id.Home = "/"
	}
	return id, nil
}

func readColonFile(path string) ([][]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out [][]string
	s := bufio.NewScanner(f)
	for s.Scan() {
		line := strings.TrimSpace(s.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		out = append(out, strings.Split(line, ":"))
	}
	return out, s.Err()
}
