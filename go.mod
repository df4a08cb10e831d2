module github.com/wisdom-oss/go-healthcheck

go 1.26.8

require (
	github.com/Microsoft/go-winio v0.6.4 // indirect
	github.com/fsnotify/fsnotify v1.10.1 // indirect
	github.com/oklog/run v1.2.0 // indirect
	github.com/rogpeppe/go-internal v1.16.0 // indirect
	github.com/sirupsen/logrus v1.10.2 // indirect
	go.uber.org/goleak v1.3.0 // indirect
	golang.org/x/sys v0.50.0 // indirect
)
