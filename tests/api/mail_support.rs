//! Reading the mail the server sent (issue #14): from the mail folder a server without
//! `smtp_url` writes to, or from a real SMTP server (Python's `aiosmtpd`, started by the test
//! on a port of its own) that the server is pointed at.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use crate::helpers::TestApp;

/// One received message: its headers and its decoded text/plain part.
#[derive(Debug, Clone)]
pub struct ReceivedMail {
    pub to: String,
    pub subject: String,
    pub text: String,
}

impl ReceivedMail {
    /// The first `http(s)://` link in the text whose path starts with `path`.
    pub fn link(&self, path: &str) -> String {
        self.text
            .split_whitespace()
            .map(|w| w.trim_matches(|c| c == '<' || c == '>' || c == '"'))
            .find(|w| {
                w.starts_with("http")
                    && url::Url::parse(w).is_ok_and(|u| u.path().starts_with(path))
            })
            .unwrap_or_else(|| panic!("no {path} link in: {}", self.text))
            .to_owned()
    }
}

fn header(raw: &str, name: &str) -> String {
    let mut value = String::new();
    let mut inside = false;
    for line in raw.lines() {
        if line.is_empty() {
            break;
        }
        if inside && line.starts_with([' ', '\t']) {
            value.push_str(line.trim_start());
            continue;
        }
        inside = false;
        if let Some((k, v)) = line.split_once(':')
            && k.eq_ignore_ascii_case(name)
        {
            value = v.trim().to_owned();
            inside = true;
        }
    }
    value
}

fn quoted_printable(s: &str) -> String {
    let mut out = Vec::new();
    let bytes = s.replace("=\r\n", "").replace("=\n", "").into_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'='
            && i + 2 < bytes.len()
            && let Ok(b) = u8::from_str_radix(
                std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("zz"),
                16,
            )
        {
            out.push(b);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The text/plain part of a MIME message, decoded (7bit, quoted-printable or base64).
fn text_part(raw: &str) -> String {
    let raw = raw.replace("\r\n", "\n");
    for part in raw.split("\n--") {
        let Some((head, body)) = part.split_once("\n\n") else {
            continue;
        };
        let head_lower = head.to_ascii_lowercase();
        if !head_lower.contains("content-type: text/plain") {
            continue;
        }
        let body = body.trim_end();
        return if head_lower.contains("content-transfer-encoding: quoted-printable") {
            quoted_printable(body)
        } else if head_lower.contains("content-transfer-encoding: base64") {
            use base64::Engine;
            let joined: String = body.lines().collect();
            String::from_utf8_lossy(
                &base64::engine::general_purpose::STANDARD
                    .decode(joined.trim())
                    .unwrap_or_default(),
            )
            .into_owned()
        } else {
            body.to_owned()
        };
    }
    panic!("no text/plain part in: {raw}")
}

fn parse(raw: &str) -> ReceivedMail {
    ReceivedMail {
        to: header(raw, "To"),
        subject: header(raw, "Subject"),
        text: text_part(raw),
    }
}

fn messages_in(dir: &Path) -> Vec<ReceivedMail> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    files.sort_by_key(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok());
    files
        .into_iter()
        .filter(|p| p.is_file())
        .filter_map(|p| std::fs::read_to_string(p).ok())
        .filter(|raw| raw.contains("\n\n") || raw.contains("\r\n\r\n"))
        .map(|raw| parse(&raw))
        .collect()
}

/// Waits (up to 10 s) for the `n`th message (counting from 1) to `to` in `dir`.
async fn wait_in(dir: &Path, to: &str, n: usize) -> ReceivedMail {
    for _ in 0..100 {
        let found: Vec<ReceivedMail> = messages_in(dir)
            .into_iter()
            .filter(|m| m.to.contains(to))
            .collect();
        if found.len() >= n {
            return found[n - 1].clone();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no message {n} to {to} in {}", dir.display())
}

/// Every message written to `app`'s mail folder so far (no SMTP server configured).
pub fn mail_folder(app: &TestApp) -> Vec<ReceivedMail> {
    messages_in(&app.settings.data_dir.join("mail"))
}

/// The `n`th message to `to` in `app`'s mail folder, waiting for it.
pub async fn wait_for_mail(app: &TestApp, to: &str, n: usize) -> ReceivedMail {
    wait_in(&app.settings.data_dir.join("mail"), to, n).await
}

/// The venv's python with aiosmtpd, made once per test process (see `python_venv`).
fn python() -> Option<PathBuf> {
    static READY: OnceLock<Option<PathBuf>> = OnceLock::new();
    READY
        .get_or_init(|| crate::helpers::python_venv("mail-venv", "tests/mail/requirements.txt"))
        .clone()
}

/// A real SMTP server (aiosmtpd) on its own port, keeping each message in a maildir.
pub struct SmtpSink {
    pub port: u16,
    maildir: tempfile::TempDir,
    child: Child,
}

impl SmtpSink {
    /// Starts the sink; `None` (skip) when aiosmtpd cannot be had outside CI.
    pub async fn start() -> Option<SmtpSink> {
        let python = python()?;
        let maildir = tempfile::tempdir().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut child = Command::new(python)
            .args(["-m", "aiosmtpd", "-n", "-l"])
            .arg(format!("127.0.0.1:{port}"))
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(maildir.path().join("box"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("aiosmtpd starts");
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                return Some(SmtpSink {
                    port,
                    maildir,
                    child,
                });
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!("aiosmtpd did not listen on {port}")
    }

    /// The `smtp_url` that points the server at this sink (plain SMTP on loopback).
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// The `n`th message received for `to`, waiting for it.
    pub async fn wait_for(&self, to: &str, n: usize) -> ReceivedMail {
        wait_in(&self.maildir.path().join("box/new"), to, n).await
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
