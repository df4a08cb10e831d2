package supervisor

import (
	"bufio"
	"fmt"
	"math"
	"os"
	"slices"
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

	u, err := lookupPasswd(userPart, passwd, passwdFile)
	if err != nil {
		return Identity{}, err
	}
	if hasGroup {
		if groupPart == "" {
			return Identity{}, fmt.Errorf("user %q: empty group", spec)
		}
		if u.gid, err = lookupGroup(groupPart, groups, groupFile); err != nil {
			return Identity{}, err
		}
		u.gidKnown = true
	}
	if !u.gidKnown {
		u.gid = u.uid
	}
	// (uid_t)-1 is "leave unchanged" to setresuid and setresgid: no user.
	if u.uid == math.MaxUint32 || u.gid == math.MaxUint32 {
		return Identity{}, fmt.Errorf("user %q: 4294967295 is (uid_t)-1, no user or group", spec)
	}
	// Go's fork sets supplementary groups, then gid, then uid, in that order.
	cred := &syscall.Credential{Uid: uint32(u.uid), Gid: uint32(u.gid),
		Groups: supplementaryGroups(u.name, u.gid, groups)}
	if u.home == "" {
		u.home = "/"
	}
	return Identity{Cred: cred, Home: u.home}, nil
}

// passwdEntry is what --user takes from /etc/passwd.
type passwdEntry struct {
	uid, gid uint64
	gidKnown bool
	name     string // "" for a uid /etc/passwd does not list
	home     string
}

// lookupPasswd resolves a user name or number. A number needs no entry; a name
// does.
func lookupPasswd(user string, passwd [][]string, file string) (passwdEntry, error) {
	if n, err := strconv.ParseUint(user, 10, 32); err == nil {
		e := passwdEntry{uid: n, home: "/"}
		for _, f := range passwd {
			if len(f) >= 7 && f[2] == user {
				e.name, e.home = f[0], f[5]
				if g, err := strconv.ParseUint(f[3], 10, 32); err == nil {
					e.gid, e.gidKnown = g, true
				}
				break
			}
		}
		return e, nil
	}
	for _, f := range passwd {
		if len(f) >= 7 && f[0] == user {
			u, err1 := strconv.ParseUint(f[2], 10, 32)
			g, err2 := strconv.ParseUint(f[3], 10, 32)
			if err1 != nil || err2 != nil {
				return passwdEntry{}, fmt.Errorf("user %q: bad entry in %s", user, file)
			}
			return passwdEntry{uid: u, gid: g, gidKnown: true, name: f[0], home: f[5]}, nil
		}
	}
	if _, err := strconv.ParseUint(user, 10, 64); err == nil {
		return passwdEntry{}, fmt.Errorf("user %q: a uid is at most 4294967294", user)
	}
	return passwdEntry{}, fmt.Errorf("user %q: not found in %s (use a numeric uid)", user, file)
}

// lookupGroup resolves a group name or number.
func lookupGroup(group string, groups [][]string, file string) (uint64, error) {
	if n, err := strconv.ParseUint(group, 10, 32); err == nil {
		return n, nil
	}
	for _, f := range groups {
		if len(f) >= 3 && f[0] == group {
			g, err := strconv.ParseUint(f[2], 10, 32)
			if err != nil {
				return 0, fmt.Errorf("group %q: bad entry in %s", group, file)
			}
			return g, nil
		}
	}
	if _, err := strconv.ParseUint(group, 10, 64); err == nil {
		return 0, fmt.Errorf("group %q: a gid is at most 4294967294", group)
	}
	return 0, fmt.Errorf("group %q: not found in %s (use a numeric gid)", group, file)
}

// supplementaryGroups lists every group of /etc/group that names user as a
// member, except the primary gid.
func supplementaryGroups(user string, gid uint64, groups [][]string) []uint32 {
	supp := []uint32{}
	if user == "" {
		return supp
	}
	for _, f := range groups {
		if len(f) < 4 || !slices.Contains(strings.Split(f[3], ","), user) {
			continue
		}
		if g, err := strconv.ParseUint(f[2], 10, 32); err == nil && g != gid {
			supp = append(supp, uint32(g))
		}
	}
	return supp
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
