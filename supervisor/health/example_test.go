package health_test

import (
	"fmt"

	"github.com/wisdom-oss/go-healthcheck/supervisor/health"
)

func ExampleParseSpec() {
	for _, s := range []string{
		"http://127.0.0.1:8080/healthz,level=live,timeout=2s",
		"type=tcp,addr=:5432,level=ready,interval=2s",
		"exec=/usr/bin/pg_isready -q,name=pg",
		"file=/tmp/alive,max-age=1m",
		"http://127.0.0.1:8080/healthz,retries=often",
	} {
		sp, err := health.ParseSpec(s)
		if err != nil {
			fmt.Println(err)
			continue
		}
		fmt.Printf("%s %s level=%s %s%s%s%q\n", sp.Kind, sp.Name, sp.Level, sp.URL, sp.Addr, sp.Path, sp.Argv)
	}
	// Output:
	// http  level=live http://127.0.0.1:8080/healthz[]
	// tcp  level=ready :5432[]
	// exec pg level=both ["/usr/bin/pg_isready" "-q"]
	// file  level=both /tmp/alive[]
	// parse check "http://127.0.0.1:8080/healthz,retries=often": retries: want a whole number ≥ 1, have "often"
}
