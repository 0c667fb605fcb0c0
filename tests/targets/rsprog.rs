// A Rust target with threads in known places, for stacks and names read
// against gdb:
//
//   main      blocked in JoinHandle::join on the acceptor
//   acceptor  blocked in TcpListener::accept (std's code, frame pointers)
//   waiter    blocked in Condvar::wait on a Mutex
//   spinner   burns CPU through inlined iterator adaptors (mix, fold)
//
// usage: target-rust DIR [locks]. With "locks", two threads more, for the
// lock class: "holder" takes a Mutex and sleeps with it for good, and
// "lockwait" blocks in Mutex::lock on it.
//
// Writes DIR/ready ("port=N") once every thread
// is in place; exits 0 on SIGTERM (the default action: no handler needed,
// the test only checks it is not left stopped).
use std::fs;
use std::net::TcpListener;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread;

static SINK: AtomicU64 = AtomicU64::new(0);
static IN_PLACE: AtomicUsize = AtomicUsize::new(0);

#[inline(always)]
fn mix(x: u64) -> u64 {
    x.wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(17) ^ (x >> 7)
}

#[inline(never)]
fn spin_round(seed: u64) -> u64 {
    (0..4096u64).map(|i| mix(i ^ seed)).fold(seed, |a, b| a.wrapping_add(b))
}

#[inline(never)]
fn spinner_main() {
    let mut v = 1u64;
    IN_PLACE.fetch_add(1, Ordering::SeqCst);
    loop {
        v = spin_round(v);
        SINK.store(v, Ordering::Relaxed);
    }
}

#[inline(never)]
fn accept_loop(listener: TcpListener) {
    IN_PLACE.fetch_add(1, Ordering::SeqCst);
    for stream in listener.incoming() {
        drop(stream);
    }
}

#[inline(never)]
fn waiter_main(pair: Arc<(Mutex<bool>, Condvar)>) {
    let (lock, cvar) = &*pair;
    let mut done = lock.lock().unwrap();
    IN_PLACE.fetch_add(1, Ordering::SeqCst);
    while !*done {
        done = cvar.wait(done).unwrap();
    }
}

static HELD: Mutex<()> = Mutex::new(());
static TAKEN: AtomicUsize = AtomicUsize::new(0);

#[inline(never)]
fn holder_main() {
    let _guard = HELD.lock().unwrap();
    TAKEN.store(1, Ordering::SeqCst);
    IN_PLACE.fetch_add(1, Ordering::SeqCst);
    loop {
        thread::sleep(std::time::Duration::from_secs(3600));
    }
}

#[inline(never)]
fn lockwait_main() {
    IN_PLACE.fetch_add(1, Ordering::SeqCst);
    let _guard = HELD.lock().unwrap(); // never: the holder keeps it
    std::process::abort();
}

fn start_locks() {
    thread::Builder::new().name("holder".into()).spawn(holder_main).unwrap();
    while TAKEN.load(Ordering::SeqCst) == 0 {
        thread::sleep(std::time::Duration::from_millis(1));
    }
    thread::Builder::new().name("lockwait".into()).spawn(lockwait_main).unwrap();
}

fn main() {
    let dir = std::env::args().nth(1).expect("usage: target-rust DIR");
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().unwrap().port();
    let acceptor = thread::Builder::new()
        .name("acceptor".into())
        .spawn(move || accept_loop(listener))
        .unwrap();
    let pair = Arc::new((Mutex::new(false), Condvar::new()));
    let p2 = Arc::clone(&pair);
    let _waiter = thread::Builder::new()
        .name("waiter".into())
        .spawn(move || waiter_main(p2))
        .unwrap();
    let _spinner = thread::Builder::new()
        .name("spinner".into())
        .spawn(spinner_main)
        .unwrap();
    let mut want = 3;
    if std::env::args().nth(2).as_deref() == Some("locks") {
        start_locks();
        want += 2;
    }
    while IN_PLACE.load(Ordering::SeqCst) < want {
        thread::sleep(std::time::Duration::from_millis(1));
    }
    // Let the threads reach their blocking calls.
    thread::sleep(std::time::Duration::from_millis(50));
    let tmp = format!("{}/ready.tmp", dir);
    fs::write(&tmp, format!("port={}\n", port)).unwrap();
    fs::rename(&tmp, format!("{}/ready", dir)).unwrap();
    acceptor.join().unwrap();
}
