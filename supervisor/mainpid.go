package supervisor

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
