package supervisor

import "time"

// MainPIDs carries sd_notify's MAINPID= (systemd.service(5)) from the health
// side to the child actor, which supervises that pid from then on as it does a
// --pidfile daemon. Make it with NewMainPIDs.
type MainPIDs chan int

// NewMainPIDs returns a mailbox of one.
func NewMainPIDs() MainPIDs { return make(MainPIDs, 1) }

// Set tells the child actor that pid is the main process from now on. It never
// blocks; a newer pid replaces one not yet taken.
func (c MainPIDs) Set(pid int) {
	for {
		select {
		case c <- pid:
			return
		default:
		}
		select {
		case <-c:
		default:
		}
	}
}

// Extensions carries sd_notify's EXTEND_TIMEOUT_USEC= from the health side to
// the child actor, as the time until which the main process asked not to be
// killed. Make it with NewExtensions.
type Extensions chan time.Time

// NewExtensions returns a mailbox of one.
func NewExtensions() Extensions { return make(Extensions, 1) }

// Extend tells the child actor not to kill before until. It never blocks;
// of a pending time and until, the later one stays.
func (c Extensions) Extend(until time.Time) {
	for {
		select {
		case c <- until:
			return
		default:
		}
		select {
		case old := <-c:
			if old.After(until) {
				until = old
			}
		default:
		}
	}
}
