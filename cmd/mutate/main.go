// Command mutate summarizes gremlins' JSON reports (make mutate): per
// package, the mutants killed, lived, not covered and timed out, and the
// efficacy (killed / (killed + lived)); then every mutant that lived and is
// not listed as equivalent in the -equivalent file, with its source line.
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

type report struct {
	Files []struct {
		Name      string `json:"file_name"`
		Mutations []struct {
			Type   string `json:"type"`
			Status string `json:"status"`
			Line   int    `json:"line"`
			Column int    `json:"column"`
		} `json:"mutations"`
	} `json:"files"`
}

type counts struct{ killed, lived, notCovered, timedOut, equivalent int }

func (c counts) efficacy() float64 {
	if c.killed+c.lived == 0 {
		return 100
	}
	return 100 * float64(c.killed) / float64(c.killed+c.lived)
}

func main() {
	equivalentFile := flag.String("equivalent", "docs/mutants-equivalent.txt", "mutants left on purpose: 'pkg/file.go:line:col TYPE reason' per line")
	min := flag.Float64("min", 0, "exit 1 if a package's efficacy is below this")
	flag.Parse()
	equivalent := readEquivalent(*equivalentFile)
	failed := false
	var lived []string
	fmt.Printf("%-22s %7s %6s %8s %6s %6s %9s\n", "package", "killed", "lived", "uncover", "t/out", "equiv", "efficacy")
	for _, path := range flag.Args() {
		pkg := strings.TrimSuffix(filepath.Base(path), ".json")
		dir := strings.ReplaceAll(pkg, "_", "/")
		var r report
		b, err := os.ReadFile(path)
		if err == nil {
			err = json.Unmarshal(b, &r)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "mutate:", path, err)
			os.Exit(1)
		}
		var c counts
		for _, f := range r.Files {
			for _, m := range f.Mutations {
				key := fmt.Sprintf("%s/%s:%d:%d %s", dir, f.Name, m.Line, m.Column, m.Type)
				switch m.Status {
				case "KILLED":
					c.killed++
				case "LIVED":
					if equivalent[key] {
						c.equivalent++
						continue
					}
					c.lived++
					lived = append(lived, key+": "+sourceLine(filepath.Join(dir, f.Name), m.Line))
				case "NOT COVERED":
					c.notCovered++
				case "TIMED OUT":
					c.timedOut++
				}
			}
		}
		fmt.Printf("%-22s %7d %6d %8d %6d %6d %8.1f%%\n", dir, c.killed, c.lived, c.notCovered, c.timedOut, c.equivalent, c.efficacy())
		if c.efficacy() < *min {
			failed = true
		}
	}
	sort.Strings(lived)
	if len(lived) > 0 {
		fmt.Printf("\nlived (kill them with a test, or list them in %s with the reason):\n", *equivalentFile)
		for _, l := range lived {
			fmt.Println("  " + l)
		}
	}
	if failed {
		fmt.Printf("\nefficacy below %.0f%%\n", *min)
		os.Exit(1)
	}
}

func readEquivalent(path string) map[string]bool {
	out := map[string]bool{}
	f, err := os.Open(path)
	if err != nil {
		return out
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if fields := strings.Fields(line); len(fields) >= 2 {
			out[fields[0]+" "+fields[1]] = true
		}
	}
	return out
}

func sourceLine(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	lines := strings.Split(string(b), "\n")
	if n < 1 || n > len(lines) {
		return ""
	}
	return strings.TrimSpace(lines[n-1])
}
