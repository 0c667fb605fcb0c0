// A Go program whose CPU time is spread over a few functions of different
// kinds (assembly, generic sorting, the runtime's maps), for siprof's
// shares compared with perf's (make bench, measurement 10). Runs until
// killed; prints "ready" once it works.
package main

import (
	"crypto/sha256"
	"fmt"
	"os"
	"sort"
)

var sink byte

//go:noinline
func hashWork(buf []byte) {
	for i := 0; i < 40; i++ {
		s := sha256.Sum256(buf)
		buf[i] = s[0]
	}
	sink = buf[0]
}

//go:noinline
func sortWork(a []int, seed *uint64) {
	for i := range a {
		*seed = *seed*6364136223846793005 + 1442695040888963407
		a[i] = int(*seed >> 33)
	}
	sort.Ints(a)
}

//go:noinline
func mapWork(m map[uint64]uint64, seed *uint64) {
	for i := 0; i < 4000; i++ {
		*seed = *seed*6364136223846793005 + 1442695040888963407
		m[*seed>>40] += uint64(i)
	}
}

func main() {
	buf := make([]byte, 4096)
	a := make([]int, 3000)
	m := make(map[uint64]uint64)
	seed := uint64(1)
	fmt.Fprintln(os.Stdout, "ready")
	for {
		hashWork(buf)
		sortWork(a, &seed)
		mapWork(m, &seed)
	}
}
