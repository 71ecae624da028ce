//! A real DNS server for tests: dnsmasq on a free loopback port, answering from a hosts file
//! the test rewrites (and dnsmasq re-reads on SIGHUP). Installed from Debian's `dnsmasq-base`
//! when missing; `--no-daemon`, so no system service starts, and killed by PID when dropped.

use std::net::{IpAddr, SocketAddr, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// How long dnsmasq may take to start listening.
const START_GUARD: Duration = Duration::from_secs(20);

/// A running dnsmasq, serving the names given to [`Dnsmasq::start`] and [`Dnsmasq::set_hosts`]
/// on `127.0.0.1:`[`port`](Dnsmasq::port), UDP and TCP. Killed when dropped.
pub struct Dnsmasq {
    child: Option<Child>,
    port: u16,
    dir: PathBuf,
    hosts: PathBuf,
}

/// dnsmasq's path, installing `dnsmasq-base` with apt-get the first time if it is missing.
/// Panics if it cannot be had.
pub fn dnsmasq_binary() -> PathBuf {
    static BINARY: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let found = BINARY.get_or_init(|| {
        if let Some(path) = find() {
            return Ok(path);
        }
        let quiet = |args: &[&str]| {
            Command::new("apt-get")
                .args(args)
                .env("DEBIAN_FRONTEND", "noninteractive")
                .output()
                .map_err(|e| format!("cannot run apt-get: {e}"))
        };
        let install = || quiet(&["install", "-y", "--no-install-recommends", "dnsmasq-base"]);
        let mut out = install()?;
        if !out.status.success() {
            quiet(&["update"])?;
            out = install()?;
        }
        if !out.status.success() {
            return Err(format!(
                "apt-get install dnsmasq-base failed ({}): {}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        find().ok_or_else(|| "dnsmasq-base is installed but no dnsmasq binary was found".to_owned())
    });
    found.clone().unwrap_or_else(|e| panic!("{e}"))
}

/// dnsmasq on `PATH` or in the sbin directories (not on a plain user's `PATH`).
fn find() -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin", "/usr/local/sbin"].map(PathBuf::from))
        .map(|dir| dir.join("dnsmasq"))
        .find(|candidate| candidate.is_file())
}

/// `ip name` lines of a hosts file.
fn hosts_text(names: &[(&str, Vec<IpAddr>)]) -> String {
    let mut text = String::new();
    for (name, ips) in names {
        for ip in ips {
            text.push_str(&format!("{ip} {name}\n"));
        }
    }
    text
}

impl Dnsmasq {
    /// Starts dnsmasq answering for `names` (each name with its addresses) and nothing else:
    /// no upstream servers, no `/etc/hosts`.
    pub fn start(names: &[(&str, Vec<IpAddr>)]) -> Dnsmasq {
        let binary = dnsmasq_binary();
        let dir = std::env::temp_dir().join(format!("rust-rpc-dnsmasq-{}-{}", std::process::id(), unique()));
        std::fs::create_dir_all(&dir).expect("dnsmasq's directory");
        let hosts = dir.join("hosts");
        std::fs::write(&hosts, hosts_text(names)).expect("hosts file");
        // A port free for UDP and TCP right now; dnsmasq binds both.
        for _ in 0..20 {
            let port = free_port();
            let mut child = Command::new(&binary)
                .args([
                    "--no-daemon",
                    "--no-resolv",
                    "--no-hosts",
                    "--bind-interfaces",
                    "--listen-address=127.0.0.1",
                    "--local-ttl=0",
                    "--cache-size=0",
                ])
                .arg(format!("--pid-file={}", dir.join("pid").display()))
                .arg(format!("--addn-hosts={}", hosts.display()))
                .arg(format!("--port={port}"))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap_or_else(|e| panic!("cannot start {}: {e}", binary.display()));
            let started = Instant::now();
            while started.elapsed() < START_GUARD {
                if let Ok(Some(status)) = child.try_wait() {
                    let mut why = String::new();
                    if let Some(mut stderr) = child.stderr.take() {
                        let _ = std::io::Read::read_to_string(&mut stderr, &mut why);
                    }
                    if why.contains("in use") {
                        break; // Another process took the port meanwhile: try another.
                    }
                    panic!("dnsmasq exited ({status}): {why}");
                }
                if TcpStream::connect_timeout(&SocketAddr::from(([127, 0, 0, 1], port)), Duration::from_millis(200))
                    .is_ok()
                {
                    return Dnsmasq { child: Some(child), port, dir, hosts };
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!("dnsmasq did not start listening on a loopback port");
    }

    /// The port dnsmasq answers on, on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Its address, as a `dns://` target's authority names it: `127.0.0.1:PORT`.
    pub fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Replaces the names it answers for: rewrites the hosts file and sends SIGHUP, on which
    /// dnsmasq clears its cache and re-reads `--addn-hosts` files.
    pub fn set_hosts(&self, names: &[(&str, Vec<IpAddr>)]) {
        std::fs::write(&self.hosts, hosts_text(names)).expect("hosts file");
        if let Some(child) = &self.child {
            let status = Command::new("kill").args(["-HUP", &child.id().to_string()]).status().expect("run kill -HUP");
            assert!(status.success(), "kill -HUP dnsmasq: {status}");
        }
    }

    /// Kills it now: the name's server stops answering.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// The hosts file it reads.
    pub fn hosts_file(&self) -> &Path {
        &self.hosts
    }
}

impl Drop for Dnsmasq {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A UDP port free on 127.0.0.1 now, and free for TCP too.
fn free_port() -> u16 {
    loop {
        let udp = UdpSocket::bind("127.0.0.1:0").expect("bind a UDP port");
        let port = udp.local_addr().expect("addr").port();
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

/// A number unique within this process.
fn unique() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}
