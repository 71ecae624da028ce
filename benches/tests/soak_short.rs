//! The short soak, in the test command: `soak run` (benches/src/bin/soak.rs) with 200
//! connections, 2,000 streams, two scale cycles and 20 seconds of mixed load, against a server
//! in a process of its own. It checks what the long one does (every call ends with the status
//! its kind expects, the server's descriptors return to the baseline after each phase, and its
//! RSS grows by at most 32 MiB from a quarter into the load to its end); none of its checks is
//! on speed. `scripts/soak.sh` runs the full size for 30 minutes.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How long the whole run may take before the test calls it hung (the load itself is 20 s).
const HANG_GUARD: Duration = Duration::from_secs(300);

#[test]
fn a_short_soak_accounts_for_every_call_and_returns_descriptors_and_memory() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_soak"))
        .args(["run", "--connections", "200", "--streams", "2000", "--seconds", "20", "--sample-seconds", "2"])
        .args(["--workers", "32", "--rss-growth-mib", "32", "--cycles", "2"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run the soak binary");
    // Read its output on threads, so a full pipe cannot stall it.
    let (stdout, stderr) = (child.stdout.take().expect("stdout"), child.stderr.take().expect("stderr"));
    let out = std::thread::spawn(move || std::io::read_to_string(stdout).unwrap_or_default());
    let err = std::thread::spawn(move || std::io::read_to_string(stderr).unwrap_or_default());
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if started.elapsed() > HANG_GUARD {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the soak did not finish within {HANG_GUARD:?}");
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let (out, err) = (out.join().expect("stdout"), err.join().expect("stderr"));
    println!("{out}");
    assert!(status.success(), "the soak failed ({status}):\n{out}\n{err}");
    assert!(out.ends_with("PASS\n"), "{out}");
    // Both scale cycles ran with every stream closed OK, and the mixed load had every kind.
    assert!(out.contains("scale cycle 2: 200 connections, 2000 streams (2000 closed OK)"), "{out}");
    for kind in ["Unary -> Ok", "Cancel -> Cancelled", "Deadline -> DeadlineExceeded", "Oversize -> ResourceExhausted"]
    {
        assert!(out.contains(kind), "no {kind} in:\n{out}");
    }
}
