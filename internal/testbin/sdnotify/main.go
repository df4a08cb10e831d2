// Command sdnotify sends sd_notify(3) datagrams to $NOTIFY_SOCKET from its
// own pid, step by step, for tests of hcinit's notify socket.
//
//	sdnotify STEP...
//
// Steps run in order:
//
//	KEY=VALUE…      one datagram; "\n" and "\r" in the text stand for newline and CR,
//	                "$PPID" for the parent's pid (hcinit's), "$PID" for its own
//	sleep=D         pause for D
//	every=D:MSG     from now on send MSG every D (in the background)
//	fork:MSG        send MSG from a child process (not the main process)
//	big=N:MSG       one datagram of MSG followed by N bytes of padding
//	spawn=CMD,ARG…  start CMD (on PATH; comma-separated argv) and send MAINPID=its pid
//	term=D:MSG      from now on, SIGTERM sends MSG, then exits 0 after D (a slow shutdown)
//	forever         block until killed (a process with work to do)
//
// With no forever step it exits 0 after the last step.
package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) > 2 && os.Args[1] == "-child" {
		send(os.Args[2])
		fmt.Println("sent")
		io.Copy(io.Discard, os.Stdin) // until the parent exits
		return
	}
	for _, step := range os.Args[1:] {
		switch k, v, _ := strings.Cut(step, "="); {
		case step == "forever":
			for {
				time.Sleep(time.Hour) // select{} alone is a deadlock to the runtime
			}
		case k == "sleep":
			d, err := time.ParseDuration(v)
			check(err)
			time.Sleep(d)
		case k == "every":
			ds, msg, _ := strings.Cut(v, ":")
			d, err := time.ParseDuration(ds)
			check(err)
			go func() {
				for {
					send(msg)
					time.Sleep(d)
				}
			}()
		case k == "term":
			ds, msg, _ := strings.Cut(v, ":")
			d, err := time.ParseDuration(ds)
			check(err)
			term := make(chan os.Signal, 1)
			signal.Notify(term, syscall.SIGTERM)
			go func() {
				<-term
				send(msg)
				time.Sleep(d)
				os.Exit(0)
			}()
		case strings.HasPrefix(step, "fork:"):
			// The sender lives on until this process exits: a message is
			// attributed by its sender's pid, which must still exist when it
			// is read (sd_notify(3): a sender that exits at once may be
			// ignored, by systemd too).
			c := exec.Command(os.Args[0], "-child", strings.TrimPrefix(step, "fork:"))
			c.Stderr = os.Stderr
			in, err := c.StdinPipe()
			check(err)
			out, err := c.StdoutPipe()
			check(err)
			check(c.Start())
			line, err := bufio.NewReader(out).ReadString('\n')
			if line != "sent\n" {
				check(fmt.Errorf("fork: the sender said %q: %v", line, err))
			}
			senders = append(senders, in) // open, and not collected, until exit

		case k == "big":
			ns, msg, _ := strings.Cut(v, ":")
			n, err := strconv.Atoi(ns)
			check(err)
			send(msg + "\\n" + strings.Repeat("X", n))
		case k == "spawn":
			argv := strings.Split(v, ",")
			c := exec.Command(argv[0], argv[1:]...)
			c.Stdout, c.Stderr = os.Stdout, os.Stderr
			check(c.Start())
			send("MAINPID=" + strconv.Itoa(c.Process.Pid))
		default:
			send(step)
		}
	}
}

// senders holds the stdin of every fork: sender, which exits when it closes.
var senders []io.WriteCloser

func send(msg string) {
	msg = strings.NewReplacer(`\n`, "\n", `\r`, "\r", "$PPID", strconv.Itoa(os.Getppid()),
		"$PID", strconv.Itoa(os.Getpid())).Replace(msg)
	addr := os.Getenv("NOTIFY_SOCKET")
	if addr == "" {
		check(fmt.Errorf("no NOTIFY_SOCKET"))
	}
	conn, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: addr, Net: "unixgram"})
	check(err)
	defer conn.Close()
	_, err = conn.Write([]byte(msg))
	check(err)
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "sdnotify:", err)
		os.Exit(2)
	}
}
