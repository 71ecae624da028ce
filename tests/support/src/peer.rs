//! The interop venv's Python and the peer processes the tests talk to.

use std::ffi::OsStr;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::{OnceLock, mpsc};
use std::thread;
use std::time::{Duration, Instant};

use crate::repo;

/// The interop venv's python (`<repo>/.cache/interop/venv/bin/python`), after
/// `tests/interop/peers/setup.sh` has installed the pinned peers there (once per test binary;
/// the script itself skips what is already installed). Panics with the script's stderr if it
/// fails, in every test that asks.
pub fn python() -> PathBuf {
    static PYTHON: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let python = PYTHON.get_or_init(|| {
        let cache = repo().join(".cache/interop");
        let out = Command::new("bash")
            .arg(repo().join("tests/interop/peers/setup.sh"))
            .arg(&cache)
            .output()
            .map_err(|e| format!("cannot run tests/interop/peers/setup.sh: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "tests/interop/peers/setup.sh failed ({}):\n{}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        Ok(cache.join("venv/bin/python"))
    });
    python.clone().unwrap_or_else(|e| panic!("{e}"))
}

/// A child process the test talks to: its stdout read line by line and its stderr whole, each by
/// a thread of its own, so every wait on it is bounded by the timeout it was spawned with, and a
/// failure shows what it wrote to stderr. Its stdin stays open (a peer may serve until it
/// closes). Killed when dropped.
///
/// Every method blocks its thread: in an async test, call them from
/// `tokio::task::spawn_blocking` or `tokio::task::block_in_place` so the runtime's workers can
/// go on serving.
pub struct Peer {
    /// The command, as failures name it.
    name: String,
    timeout: Duration,
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: mpsc::Receiver<String>,
    stderr: mpsc::Receiver<String>,
    /// stderr once it has been read.
    stderr_text: Option<String>,
}

impl Peer {
    /// Starts `command` with stdin, stdout and stderr piped; `timeout` bounds each wait on it.
    pub fn spawn(mut command: Command, timeout: Duration) -> Peer {
        let name = format!("{command:?}");
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("could not run {name}: {e}"));
        let (stdin, stdout, mut stderr) = (
            child.stdin.take().expect("piped stdin"),
            child.stdout.take().expect("piped stdout"),
            child.stderr.take().expect("piped stderr"),
        );
        let (line_tx, lines) = mpsc::channel();
        thread::spawn(move || {
            let mut stdout = BufReader::new(stdout);
            let mut line = Vec::new();
            while matches!(stdout.read_until(b'\n', &mut line), Ok(n) if n > 0) {
                let text = line.strip_suffix(b"\n").unwrap_or(&line);
                let text = text.strip_suffix(b"\r").unwrap_or(text);
                if line_tx.send(String::from_utf8_lossy(text).into_owned()).is_err() {
                    break;
                }
                line.clear();
            }
        });
        let (err_tx, err_rx) = mpsc::channel();
        thread::spawn(move || {
            let mut text = Vec::new();
            let _ = stderr.read_to_end(&mut text);
            let _ = err_tx.send(String::from_utf8_lossy(&text).into_owned());
        });
        Peer { name, timeout, child, stdin: Some(stdin), stdout: lines, stderr: err_rx, stderr_text: None }
    }

    /// `script` run by the interop venv's [`python`] with `args`, in the script's directory.
    pub fn python<I, S>(script: impl AsRef<Path>, args: I, timeout: Duration) -> Peer
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let script = script.as_ref();
        let mut command = Command::new(python());
        command.arg(script).args(args);
        if let Some(dir) = script.parent() {
            command.current_dir(dir);
        }
        Peer::spawn(command, timeout)
    }

    /// The peer's process id, to send it a signal.
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// The next stdout line (without its line ending); panics, with the peer's stderr, if the
    /// peer ends its stdout first or prints nothing within the timeout (killing it).
    /// `waiting_for` names the line in that message.
    pub fn line(&mut self, waiting_for: &str) -> String {
        match self.stdout.recv_timeout(self.timeout) {
            Ok(line) => line,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                let _ = self.child.kill();
                let stderr = self.stderr();
                panic!("{} printed no {waiting_for} within {:?}; stderr:\n{stderr}", self.name, self.timeout)
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                let stderr = self.stderr();
                panic!("{} exited before {waiting_for}; stderr:\n{stderr}", self.name)
            }
        }
    }

    /// The peer's one line of answer (see [`line`](Self::line)), once it has exited
    /// successfully (see [`wait`](Self::wait)): a client peer that prints its result and ends.
    pub fn answer(mut self, waiting_for: &str) -> String {
        let line = self.line(waiting_for);
        self.wait();
        line
    }

    /// Waits for the peer to exit, within the timeout (else kills it), and panics, with its
    /// stderr, unless it exited successfully. Returns its stderr.
    pub fn wait(&mut self) -> String {
        let deadline = Instant::now() + self.timeout;
        let status = self.exit_by(deadline);
        self.check(status, None)
    }

    /// Closes the peer's stdin and returns the rest of its stdout, each line ending in `\n`,
    /// once it has exited successfully; panics, with its stderr, if it fails, or if it has not
    /// exited within the timeout (killing it).
    pub fn output(mut self) -> String {
        let deadline = Instant::now() + self.timeout;
        self.stdin = None;
        let mut stdout = String::new();
        loop {
            match self.stdout.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                Ok(line) => {
                    stdout.push_str(&line);
                    stdout.push('\n');
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
                Err(mpsc::RecvTimeoutError::Timeout) => self.hung(),
            }
        }
        let status = self.exit_by(deadline);
        self.check(status, Some(&stdout));
        stdout
    }

    /// Everything the peer wrote to stderr: waits (within the timeout) for it to close, so the
    /// peer should have exited or been killed.
    pub fn stderr(&mut self) -> String {
        let (stderr, timeout) = (&self.stderr, self.timeout);
        self.stderr_text
            .get_or_insert_with(|| stderr.recv_timeout(timeout).unwrap_or_else(|_| "(stderr not readable)".into()))
            .clone()
    }

    /// The peer's exit status, waiting until `deadline` at the most.
    fn exit_by(&mut self, deadline: Instant) -> ExitStatus {
        loop {
            match self.child.try_wait() {
                Ok(Some(status)) => return status,
                Ok(None) if Instant::now() < deadline => thread::sleep(Duration::from_millis(10)),
                Ok(None) => self.hung(),
                Err(e) => panic!("waiting for {}: {e}", self.name),
            }
        }
    }

    /// Kills the peer and fails the test: it ran past its timeout.
    fn hung(&mut self) -> ! {
        let _ = self.child.kill();
        let stderr = self.stderr();
        panic!("{} hung for {:?}; stderr:\n{stderr}", self.name, self.timeout)
    }

    /// Panics, with stderr (and `stdout` if given), unless `status` is a success; returns stderr.
    fn check(&mut self, status: ExitStatus, stdout: Option<&str>) -> String {
        let stderr = self.stderr();
        if !status.success() {
            let stdout = stdout.map(|out| format!("\nstdout:\n{out}")).unwrap_or_default();
            panic!("{} failed with {status}:{stdout}\nstderr:\n{stderr}", self.name);
        }
        stderr
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(script: &str, timeout: Duration) -> Peer {
        let mut command = Command::new("sh");
        command.args(["-c", script]);
        Peer::spawn(command, timeout)
    }

    #[test]
    fn reads_lines_then_the_rest_and_the_exit() {
        let mut peer = sh("printf 'one\\r\\ntwo\\n'; echo warned >&2; printf 'three\\nfour'", Duration::from_secs(10));
        assert_eq!(peer.line("the first line"), "one");
        assert_eq!(peer.output(), "two\nthree\nfour\n");
        let mut peer = sh("echo warned >&2", Duration::from_secs(10));
        assert_eq!(peer.wait(), "warned\n");
    }

    #[test]
    #[should_panic(expected = "failed with exit status: 3")]
    fn a_failed_exit_fails_the_test() {
        sh("exit 3", Duration::from_secs(10)).wait();
    }

    #[test]
    #[should_panic(expected = "exited before the answer; stderr:\nbye")]
    fn a_peer_that_ends_early_fails_the_test_with_its_stderr() {
        sh("echo bye >&2", Duration::from_secs(10)).line("the answer");
    }

    #[test]
    #[should_panic(expected = "printed no answer within 200ms")]
    fn a_silent_peer_is_killed_at_the_timeout() {
        sh("sleep 30", Duration::from_millis(200)).line("answer");
    }

    #[test]
    #[should_panic(expected = "hung for 200ms")]
    fn output_is_bounded_by_the_timeout() {
        let _ = sh("sleep 30", Duration::from_millis(200)).output();
    }
}
