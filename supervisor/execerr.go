package supervisor

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"syscall"

	"github.com/wisdom-oss/go-healthcheck/supervisor/reaper"
)

// explainExec adds the reason execve(2) does not give to a failed start of a
// file that exists: ENOENT then means its interpreter is missing (the #!
// line's program, or an ELF binary's loader — a dynamically linked program in
// an image without its libc), ENOEXEC a script without a #! line or a binary
// for another machine (execve(2), ERRORS). With asUser (--user), EPERM is
// the kernel refusing the switch of user before the exec. The status stays
// ee's.
func explainExec(ee *reaper.ExecError, asUser bool) error {
	why := ""
	switch {
	case asUser && errors.Is(ee.Err, syscall.EPERM):
		why = userSwitchWhy()
	case errors.Is(ee.Err, syscall.ENOENT):
		why = missingInterpreter(ee.Path)
	case errors.Is(ee.Err, syscall.EACCES):
		why = deniedWhy(ee.Path)
	case errors.Is(ee.Err, syscall.ENOEXEC):
		why = "not a program this machine runs: a script needs a #! line (e.g. #!/bin/sh), a binary the machine's architecture"
	}
	if why == "" {
		return ee
	}
	return fmt.Errorf("%w (%s)", ee, why)
}

// userSwitchWhy names the capabilities hcinit lacks to start the child as
// --user: the fork's setgroups, setgid and setuid need CAP_SETGID and
// CAP_SETUID, which `docker run --cap-drop ALL` and a container run as a
// user other than root take away, and the kernel's EPERM then reads as the
// exec's. "" when hcinit has both (another cause: seccomp, an LSM).
func userSwitchWhy() string {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return ""
	}
	var eff uint64
	for _, l := range bytes.Split(b, []byte("\n")) {
		if v, ok := bytes.CutPrefix(l, []byte("CapEff:")); ok {
			eff, err = strconv.ParseUint(string(bytes.TrimSpace(v)), 16, 64)
			if err != nil {
				return ""
			}
		}
	}
	var missing []string
	for _, c := range []struct {
		bit  uint
		name string
	}{{6, "CAP_SETGID"}, {7, "CAP_SETUID"}} {
		if eff&(1<<c.bit) == 0 {
			missing = append(missing, c.name)
		}
	}
	if len(missing) == 0 {
		return ""
	}
	return "--user switches the child's user, which needs " + strings.Join(missing, " and ") +
		": hcinit runs without (docker run --cap-drop ALL, or a container not run as root); " +
		"add --cap-add SETUID --cap-add SETGID, or run the container as that user (docker run --user) without hcinit's --user"
}

// deniedWhy says why execve refused the file at path with EACCES: a
// directory, no execute permission; "" when it cannot tell (a noexec mount,
// a directory on the way without search permission).
func deniedWhy(path string) string {
	fi, err := os.Stat(path)
	switch {
	case err != nil:
		return ""
	case fi.IsDir():
		return "it is a directory"
	case fi.Mode()&0o111 == 0:
		return "it has no execute permission (chmod +x)"
	}
	return ""
}

// missingInterpreter names the interpreter of the file at path, which exists
// though execve said ENOENT; "" when the file is not there or says nothing.
func missingInterpreter(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	head := make([]byte, 256)
	n, _ := io.ReadFull(f, head)
	head = head[:n]
	if line, ok := bytes.CutPrefix(head, []byte("#!")); ok {
		line, _, _ = bytes.Cut(line, []byte("\n"))
		fields := bytes.Fields(bytes.TrimRight(line, " \t"))
		if len(fields) == 0 {
			return ""
		}
		interp := string(fields[0])
		if bytes.HasSuffix(line, []byte("\r")) {
			return "its #! line ends in a carriage return, so the interpreter is " + strconv.Quote(interp+"\r") + ": the script has Windows (CRLF) line endings"
		}
		return "the file exists; its interpreter " + strconv.Quote(interp) + " from the #! line does not"
	}
	if interp := elfInterp(f, head); interp != "" {
		return "the file exists; its loader " + strconv.Quote(interp) + " does not: a dynamically linked program in an image without its libc (link it statically, or add the library)"
	}
	return "the file exists, but execve found no interpreter for it"
}

// elfInterp reads the program interpreter (PT_INTERP) of an ELF file whose
// first bytes are head, "" when there is none (ELF(5)). Written out instead of
// debug/elf, which hcinit does not link otherwise.
func elfInterp(f *os.File, head []byte) string {
	if len(head) < 64 || !bytes.HasPrefix(head, []byte("\x7fELF")) {
		return ""
	}
	var bo binary.ByteOrder = binary.LittleEndian
	if head[5] == 2 {
		bo = binary.BigEndian
	}
	var phoff, phentsize, phnum uint64
	if head[4] == 2 { // 64-bit
		phoff, phentsize, phnum = bo.Uint64(head[32:]), uint64(bo.Uint16(head[54:])), uint64(bo.Uint16(head[56:]))
	} else {
		phoff, phentsize, phnum = uint64(bo.Uint32(head[28:])), uint64(bo.Uint16(head[42:])), uint64(bo.Uint16(head[44:]))
	}
	ph := make([]byte, phentsize)
	for i := uint64(0); i < min(phnum, 64) && phentsize >= 32; i++ {
		if _, err := f.ReadAt(ph, int64(phoff+i*phentsize)); err != nil || bo.Uint32(ph) != 3 { // PT_INTERP
			continue
		}
		off, size := uint64(bo.Uint32(ph[4:])), uint64(bo.Uint32(ph[16:]))
		if head[4] == 2 {
			off, size = bo.Uint64(ph[8:]), bo.Uint64(ph[32:])
		}
		b := make([]byte, min(size, 4096))
		if _, err := f.ReadAt(b, int64(off)); err != nil {
			return ""
		}
		return string(bytes.TrimRight(b, "\x00"))
	}
	return ""
}
