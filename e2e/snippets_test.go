package e2e

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var snippetMark = regexp.MustCompile(`^<!-- example: (\S+) -->$`)

// Every code block in the docs marked <!-- example: PATH --> is copied from
// PATH, a file the e2e tests run: its lines appear there, in order (lines in
// between may be left out, indentation is not compared). This needs no
// Docker, so it runs everywhere, also with -short.
func TestSnippets(t *testing.T) {
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, doc := range []string{"examples/README.md", "README.md"} {
		b, err := os.ReadFile(filepath.Join(root, doc))
		if err != nil {
			t.Fatal(err)
		}
		docLines := strings.Split(string(b), "\n")
		for i := 0; i < len(docLines); i++ {
			m := snippetMark.FindStringSubmatch(strings.TrimSpace(docLines[i]))
			if m == nil {
				continue
			}
			if i+1 >= len(docLines) || !strings.HasPrefix(docLines[i+1], "```") {
				t.Errorf("%s:%d: the example mark is not followed by a code block", doc, i+1)
				continue
			}
			var block []string
			j := i + 2
			for ; j < len(docLines) && !strings.HasPrefix(docLines[j], "```"); j++ {
				block = append(block, docLines[j])
			}
			src, err := os.ReadFile(filepath.Join(root, m[1]))
			if err != nil {
				t.Errorf("%s:%d: %v", doc, i+1, err)
				continue
			}
			if k, ok := subsequence(block, strings.Split(string(src), "\n")); !ok {
				t.Errorf("%s:%d: line %q of the snippet is not in %s (in this order): update the snippet or the file", doc, i+k+3, strings.TrimSpace(block[k]), m[1])
			}
			checked++
			i = j
		}
	}
	if checked == 0 {
		t.Fatal("no marked snippets found in examples/README.md")
	}
}

// subsequence reports whether the non-blank lines of want appear in have in
// order, compared without surrounding white space; when not, it returns the
// index in want of the first line that could not be found.
func subsequence(want, have []string) (int, bool) {
	h := 0
	for i, w := range want {
		w = strings.TrimSpace(w)
		if w == "" {
			continue
		}
		for h < len(have) && strings.TrimSpace(have[h]) != w {
			h++
		}
		if h == len(have) {
			return i, false
		}
		h++
	}
	return 0, true
}
