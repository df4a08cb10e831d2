package supervisor_test

import (
	"fmt"
	"os"
	"strings"

	"github.com/wisdom-oss/go-healthcheck/supervisor"
)

// LookupUser reads /etc/passwd and /etc/group when they exist; numbers work
// without them (a scratch image has neither).
func ExampleLookupUser() {
	dir, _ := os.MkdirTemp("", "lookupuser")
	defer os.RemoveAll(dir)
	passwd, group := dir+"/passwd", dir+"/group"
	os.WriteFile(passwd, []byte("root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n"), 0o644)
	os.WriteFile(group, []byte("root:x:0:\napp:x:1000:\ndocker:x:999:app\nstaff:x:50:other,app\n"), 0o644)
	for _, spec := range []string{"app", "1000", "app:staff", "2000", "2000:50", "nobody", "app:nogroup"} {
		id, err := supervisor.LookupUser(spec, passwd, group)
		if err != nil {
			fmt.Println(strings.ReplaceAll(err.Error(), dir, "DIR"))
			continue
		}
		fmt.Printf("%s: uid=%d gid=%d groups=%v home=%s\n", spec, id.Cred.Uid, id.Cred.Gid, id.Cred.Groups, id.Home)
	}
	// Output:
	// app: uid=1000 gid=1000 groups=[999 50] home=/home/app
	// 1000: uid=1000 gid=1000 groups=[999 50] home=/home/app
	// app:staff: uid=1000 gid=50 groups=[999] home=/home/app
	// 2000: uid=2000 gid=2000 groups=[] home=/
	// 2000:50: uid=2000 gid=50 groups=[] home=/
	// user "nobody": not found in DIR/passwd (use a numeric uid)
	// group "nogroup": not found in DIR/group (use a numeric gid)
}
