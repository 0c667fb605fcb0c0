// A Rust program whose CPU time is spread over a few functions (its own,
// the standard library's sort and HashMap with SipHash), for siprof's
// shares compared with perf's (make bench, measurement 10). Runs until
// killed; prints "ready" once it works.
use std::collections::HashMap;
use std::io::Write;

#[inline(never)]
fn fill(v: &mut [u64], seed: &mut u64) {
    for x in v.iter_mut() {
        *seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        *x = *seed >> 17;
    }
}

#[inline(never)]
fn checksum(v: &[u64]) -> u64 {
    let mut c = 0u64;
    for _ in 0..8 {
        for &x in v {
            c = (c ^ x).rotate_left(7).wrapping_mul(0x9e3779b97f4a7c15);
        }
    }
    c
}

#[inline(never)]
fn count(m: &mut HashMap<u64, u64>, v: &[u64]) {
    for &x in v {
        *m.entry(x & 0xffff).or_insert(0) += 1;
    }
}

fn main() {
    let mut v = vec![0u64; 4000];
    let mut m = HashMap::new();
    let mut seed = 1u64;
    let mut sink = 0u64;
    println!("ready");
    std::io::stdout().flush().unwrap();
    loop {
        fill(&mut v, &mut seed);
        sink ^= checksum(&v);
        v.sort_unstable();
        count(&mut m, &v);
        if sink == 42 {
            println!("{}", sink);
        }
    }
}
