//! What the binary's test files share: an org made with `tutti init`, and a
//! `tutti serve` child process on a free port.

#![expect(clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A SQLite URL for a new database file in `dir`.
pub fn sqlite_url(dir: &Path) -> String {
    format!("sqlite:{}", dir.join("tutti.db").display())
}

/// Creates the test org with `tutti init` and returns the owner's token.
pub fn init(url: &str) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_tutti"))
        .args([
            "init",
            "--org",
            "Lindner Gebäudetechnik",
            "--owner",
            "katrin@lindner.de",
            "--database-url",
            url,
        ])
        .env_remove("TUTTI_DATABASE_URL")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .last()
        .unwrap()
        .to_owned()
}

/// A running `tutti serve`; killed when dropped.
pub struct Server {
    child: Option<Child>,
    pub url: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(child) = &mut self.child {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Server {
    /// A server started some other way, listening on `url`.
    #[allow(dead_code, reason = "only some test files start servers so")]
    pub fn from_child(child: Child, url: String) -> Self {
        Self {
            child: Some(child),
            url,
        }
    }

    /// Sends a signal (`KILL`, `TERM`) to the server.
    #[allow(dead_code, reason = "only some test files stop servers")]
    pub fn signal(&self, signal: &str) {
        let pid = self.child.as_ref().unwrap().id().to_string();
        assert!(
            Command::new("kill")
                .args([format!("-{signal}"), pid])
                .status()
                .unwrap()
                .success()
        );
    }

    /// Kills the server as a crash would, and waits until it is gone.
    #[allow(dead_code, reason = "only some test files stop servers")]
    pub fn kill(&mut self) {
        self.signal("KILL");
        self.wait_for_exit(Duration::from_secs(10));
    }

    /// Waits until the server process has exited, failing after `within`.
    #[allow(dead_code, reason = "only some test files stop servers")]
    pub fn wait_for_exit(&mut self, within: Duration) {
        let mut child = self.child.take().unwrap();
        let (exited, waiting) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = child.wait();
            let _ = exited.send(());
        });
        assert!(
            waiting.recv_timeout(within).is_ok(),
            "the server did not stop within {within:?}"
        );
    }
}

/// Starts `tutti serve` on a free port with extra environment variables and
/// returns once it is listening.
pub fn serve(url: &str, env: &[(&str, &str)]) -> Server {
    serve_logging_to(url, env, Stdio::null())
}

/// [`serve`], with the server's log lines going to `log`.
pub fn serve_logging_to(url: &str, env: &[(&str, &str)], log: impl Into<Stdio>) -> Server {
    let mut command = Command::new(env!("CARGO_BIN_EXE_tutti"));
    command
        .args(["serve", "--bind", "127.0.0.1:0", "--database-url", url])
        .env_remove("TUTTI_DATABASE_URL")
        .stdout(Stdio::piped())
        .stderr(log);
    for (key, value) in env {
        command.env(key, value);
    }
    let mut child = command.spawn().unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let address = line
        .split("http://")
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned();
    Server {
        child: Some(child),
        url: format!("http://{address}"),
    }
}

/// The Python with the clients nobody here wrote (`scripts/python-env`), or
/// `None` outside CI when there is none, saying loudly that `what` did not
/// run.
#[allow(dead_code, reason = "not every test file drives a Python client")]
pub fn python(what: &str) -> Option<String> {
    match std::env::var("TUTTI_TEST_PYTHON") {
        Ok(python) => Some(python),
        Err(_) => {
            assert!(
                std::env::var_os("CI").is_none(),
                "TUTTI_TEST_PYTHON is not set in CI: scripts/test sets it"
            );
            eprintln!(
                "\n!!! TUTTI_TEST_PYTHON is not set: {what} did NOT run (scripts/python-env)\n"
            );
            None
        }
    }
}

/// `tutti up` on a fresh SQLite file in `dir` with extra arguments, without
/// the embedded model unless the environment names one: the server and the
/// owner token it printed.
#[allow(dead_code, reason = "only some test files start the demo")]
pub fn up(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> (Server, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_tutti"));
    command
        .args([
            "up",
            "--bind",
            "127.0.0.1:0",
            "--database-url",
            &sqlite_url(dir),
        ])
        .args(args)
        .env_remove("TUTTI_DATABASE_URL")
        .env_remove("TUTTI_MODEL")
        .env("XDG_CACHE_HOME", dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    for (key, value) in env {
        command.env(key, value);
    }
    let mut child = command.spawn().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let (mut url, mut token) = (None, None);
    while token.is_none() {
        // None: tutti up ended before it printed a token.
        let line = lines.next().unwrap().unwrap();
        if let Some(rest) = line.strip_prefix("tutti is serving on http://") {
            url = rest
                .split_whitespace()
                .next()
                .map(|a| format!("http://{a}"));
        }
        if line == "owner token:" {
            token = Some(lines.next().unwrap().unwrap());
        }
    }
    (Server::from_child(child, url.unwrap()), token.unwrap())
}

/// Runs the `tutti` binary with `args` and `env`, and nothing of the
/// caller's `TUTTI_*` settings that would point it elsewhere.
#[allow(dead_code, reason = "not every test file runs the CLI")]
pub fn tutti(args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_tutti"));
    command
        .args(args)
        .env_remove("TUTTI_DATABASE_URL")
        .env_remove("TUTTI_TOKEN")
        .env_remove("TUTTI_SERVER");
    for (key, value) in env {
        command.env(key, value);
    }
    command.output().unwrap()
}

/// The standard output of a command that must have succeeded (its
/// standard error shown when it did not).
#[allow(dead_code, reason = "not every test file runs the CLI")]
pub fn succeeded(output: &std::process::Output) -> String {
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}
