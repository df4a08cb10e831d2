// Command notify is a service that speaks the systemd notify protocol, as
// Caddy, php-fpm, Redis or HAProxy can: it sends STATUS=, then READY=1 once it
// has started, and WATCHDOG=1 on a ticker at half of $WATCHDOG_USEC, each as
// one datagram to $NOTIFY_SOCKET. Docker never sets NOTIFY_SOCKET; hcinit does:
//
//	hcinit --check notify --watchdog 3s -- /app
//
// SIGUSR1 wedges the service (it stops sending WATCHDOG=1, as a deadlocked
// main loop would) and a second SIGUSR1 unwedges it; `docker kill -s USR1`
// reaches it through hcinit. SIGTERM sends STOPPING=1 and exits 0.
package main

import (
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"
)

func main() {
	log.SetFlags(log.LstdFlags | log.Lmicroseconds)
	log.SetPrefix("notify: ")
	startup := flag.Duration("startup", 2*time.Second, "time before READY=1")
	flag.Parse()

	sigc := make(chan os.Signal, 4)
	signal.Notify(sigc, syscall.SIGTERM, syscall.SIGINT, syscall.SIGUSR1)

	n, err := dialNotify(os.Getenv("NOTIFY_SOCKET"))
	if err != nil {
		log.Printf("no notify socket, running without: %v", err)
	}
	n.send("STATUS=starting")

	var watchdog <-chan time.Time
	if usec, err := strconv.Atoi(os.Getenv("WATCHDOG_USEC")); err == nil && usec > 0 {
		t := time.NewTicker(time.Duration(usec) * time.Microsecond / 2)
		defer t.Stop()
		watchdog = t.C
	}
	ready := time.After(*startup)
	wedged := false
	for {
		select {
		case <-ready:
			n.send("READY=1\nSTATUS=serving")
			log.Print("ready")
		case <-watchdog:
			if !wedged {
				n.send("WATCHDOG=1")
			}
		case s := <-sigc:
			switch s {
			case syscall.SIGUSR1:
				wedged = !wedged
				if wedged {
					n.send("STATUS=wedged: main loop stuck (SIGUSR1)")
				} else {
					n.send("STATUS=serving")
				}
				log.Printf("wedged=%v", wedged)
			default:
				n.send("STOPPING=1\nSTATUS=stopping")
				log.Printf("received %v; exiting", s)
				return
			}
		}
	}
}

// notifier sends sd_notify datagrams; its zero value (no socket) drops them.
type notifier struct{ conn *net.UnixConn }

// dialNotify connects to addr, a socket path or "@name" for an abstract
// socket (Go's net package maps the leading @ to the NUL byte).
func dialNotify(addr string) (notifier, error) {
	if addr == "" {
		return notifier{}, fmt.Errorf("NOTIFY_SOCKET is not set")
	}
	c, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: addr, Net: "unixgram"})
	if err != nil {
		return notifier{}, err
	}
	return notifier{conn: c}, nil
}

func (n notifier) send(msg string) {
	if n.conn == nil {
		return
	}
	if _, err := n.conn.Write([]byte(msg)); err != nil {
		log.Printf("notify: %v", err)
	}
}
