// A Go target with goroutines in known places, for stacks and names read
// against gdb and addr2line:
//
//	main.spin      burns CPU through an inlined function (main.mix)
//	main.bigFrame  a 65,664-byte frame, under main.deep, blocked in a
//	               read(2) of a pipe that nobody writes (so the goroutine
//	               keeps its thread, and the thread's stack is that frame)
//	main           blocked until SIGTERM
//
// usage: target-go DIR [locks]. Writes DIR/ready once both goroutines run;
// exits 0 on SIGTERM. With "locks", goroutines that park for good, for the
// lock and wait classes: one holds a sync.Mutex, three block in its Lock,
// one receives from a channel nobody sends on, one more, locked to its
// thread, too. A parked goroutine leaves no thread blocked: the Ms with
// nothing to run sleep in the runtime (futexsleep under notesleep), idle.
package main

import (
	"os"
	"os/signal"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"
)

var sink uint64
var inPlace int32

func mix(x uint64) uint64 {
	return (x*0x9E3779B97F4A7C15)<<17 | (x*0x9E3779B97F4A7C15)>>47 ^ (x >> 7)
}

//go:noinline
func spin() {
	v := uint64(1)
	atomic.AddInt32(&inPlace, 1)
	for {
		for i := uint64(0); i < 4096; i++ {
			v += mix(i ^ v)
		}
		atomic.StoreUint64(&sink, v)
	}
}

//go:noinline
func bigFrame(fd int) int {
	var buf [65536]byte
	for i := range buf {
		buf[i] = byte(i)
	}
	atomic.AddInt32(&inPlace, 1)
	// A raw read: the goroutine stays on its thread, blocked in the kernel.
	var one [1]byte
	syscall.Syscall(syscall.SYS_READ, uintptr(fd), uintptr(unsafe.Pointer(&one[0])), 1)
	return int(buf[len(buf)-1]) + int(buf[fd]) + int(one[0])
}

//go:noinline
func deep(n, fd int) int {
	if n == 0 {
		return bigFrame(fd)
	}
	return deep(n-1, fd) + 1
}

var held sync.Mutex
var never = make(chan int)

// parkForGood starts the goroutines of "locks" and returns once each is
// about to park.
func parkForGood() {
	held.Lock()
	for i := 0; i < 3; i++ {
		go func() {
			atomic.AddInt32(&inPlace, 1)
			held.Lock()
			panic("the mutex was never to be released")
		}()
	}
	go func() {
		atomic.AddInt32(&inPlace, 1)
		<-never
	}()
	go func() {
		runtime.LockOSThread()
		atomic.AddInt32(&inPlace, 1)
		<-never
	}()
}

func main() {
	dir := os.Args[1]
	want := int32(2)
	if len(os.Args) > 2 && os.Args[2] == "locks" {
		parkForGood()
		want += 5
	}
	var p [2]int
	if err := syscall.Pipe(p[:]); err != nil {
		panic(err)
	}
	runtime.GOMAXPROCS(2)
	go spin()
	go func() {
		runtime.LockOSThread()
		deep(3, p[0])
	}()
	for atomic.LoadInt32(&inPlace) < want {
		runtime.Gosched()
	}
	time.Sleep(100 * time.Millisecond) // until the parked ones are parked
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM)
	os.WriteFile(dir+"/ready.tmp", []byte("go\n"), 0o644)
	os.Rename(dir+"/ready.tmp", dir+"/ready")
	<-sig
	os.Exit(0)
}
