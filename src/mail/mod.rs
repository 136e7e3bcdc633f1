//! E-mail delivery (issue #14): password resets, e-mail confirmations and invitations.
//!
//! Services hand a [`Mail`] to an [`Outbox`] and go on: the request's own effect (the stored
//! link, the invitation) is already written, and sending happens off the request path, in
//! [`Mailer::run`], with retries. The queue is in memory on purpose: a message carries a
//! single-use link whose secret is stored nowhere else (only its hash is), so a durable outbox
//! would keep the secret at rest. A message lost to a crash is asked for again by its user
//! (another reset, a re-sent invitation), which a durable queue could not make safer.
//!
//! Transport: SMTP through lettre when `smtp_url` is set (TLS or STARTTLS as the URL says);
//! otherwise each message is written as a `.eml` file to `<data_dir>/mail/` and logged, so a
//! server started with nothing configured still delivers (to a folder).

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use lettre::message::{Mailbox, MultiPart};
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use secrecy::ExposeSecret;
use tokio::sync::{Semaphore, mpsc};

use crate::config::Settings;

/// One message: a plain-text and an HTML body of the same text.
#[derive(Clone)]
pub struct Mail {
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
}

impl std::fmt::Debug for Mail {
    // The bodies hold single-use links: never in a log.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mail")
            .field("to", &self.to)
            .field("subject", &self.subject)
            .finish_non_exhaustive()
    }
}

/// Where services send mail; [`Mailer`] in the server.
pub trait Outbox: Send + Sync {
    /// Queues `mail` for delivery and returns at once; a full queue or a failed delivery is
    /// logged, never returned: the caller's own effect stands either way.
    fn send(&self, mail: Mail);
}

/// How many messages may wait; past that a message is dropped (and logged).
const QUEUE: usize = 1024;
/// Deliveries under way at once.
const CONCURRENCY: usize = 8;
/// The waits before each retry of a failed delivery (so at most five attempts, ~6 minutes).
const RETRY_AFTER: [Duration; 4] = [
    Duration::from_secs(2),
    Duration::from_secs(10),
    Duration::from_secs(60),
    Duration::from_secs(300),
];

#[derive(Clone)]
enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    File(AsyncFileTransport<Tokio1Executor>, PathBuf),
}

/// An invalid `smtp_url` or `mail_from`, reported at start-up.
#[derive(Debug, thiserror::Error)]
pub enum MailConfigError {
    #[error("smtp_url is not a valid SMTP URL: {0}")]
    SmtpUrl(String),
    #[error("mail_from is not an e-mail address with an optional name: {0}")]
    From(String),
}

/// The server's outbox: a queue, and the task that delivers it ([`Mailer::run`]).
pub struct Mailer {
    from: Mailbox,
    transport: Transport,
    tx: mpsc::Sender<Mail>,
    rx: Mutex<Option<mpsc::Receiver<Mail>>>,
}

impl Mailer {
    pub fn from_settings(settings: &Settings) -> Result<Self, MailConfigError> {
        let from = match &settings.mail.from {
            Some(from) => from,
            None => &format!(
                "mintgate <noreply@{}>",
                settings.server.issuer.host_str().unwrap_or("localhost")
            ),
        };
        let from: Mailbox = from
            .parse()
            .map_err(|e: lettre::address::AddressError| MailConfigError::From(e.to_string()))?;
        let transport = match &settings.mail.smtp_url {
            Some(url) => Transport::Smtp(
                AsyncSmtpTransport::<Tokio1Executor>::from_url(url.expose_secret())
                    // lettre's error text does not repeat the URL (it may hold a password).
                    .map_err(|e| MailConfigError::SmtpUrl(e.to_string()))?
                    .timeout(Some(Duration::from_secs(20)))
                    .build(),
            ),
            None => {
                let dir = settings.data_dir.join("mail");
                Transport::File(AsyncFileTransport::new(&dir), dir)
            }
        };
        let (tx, rx) = mpsc::channel(QUEUE);
        Ok(Self {
            from,
            transport,
            tx,
            rx: Mutex::new(Some(rx)),
        })
    }

    /// Delivers the queue until the server stops; started once, by `run_until_stopped`.
    pub async fn run(self: Arc<Self>) {
        let Some(mut rx) = self.rx.lock().ok().and_then(|mut rx| rx.take()) else {
            return;
        };
        if let Transport::File(_, dir) = &self.transport
            && let Err(e) = tokio::fs::create_dir_all(dir).await
        {
            tracing::error!(dir = %dir.display(), error = %e, "the mail folder cannot be created");
        }
        let slots = Arc::new(Semaphore::new(CONCURRENCY));
        while let Some(mail) = rx.recv().await {
            let Ok(permit) = slots.clone().acquire_owned().await else {
                return;
            };
            let this = self.clone();
            tokio::spawn(async move {
                this.deliver(mail).await;
                drop(permit);
            });
        }
    }

    async fn deliver(&self, mail: Mail) {
        let message = match self.message(&mail) {
            Ok(message) => message,
            Err(e) => {
                tracing::error!(?mail, error = %e, "a message could not be built; dropped");
                return;
            }
        };
        let mut waits = RETRY_AFTER.iter();
        loop {
            let result = match &self.transport {
                Transport::Smtp(smtp) => smtp
                    .send(message.clone())
                    .await
                    .map(|_| None)
                    .map_err(|e| e.to_string()),
                Transport::File(file, dir) => file
                    .send(message.clone())
                    .await
                    .map(|id| Some(dir.join(format!("{id}.eml"))))
                    .map_err(|e| e.to_string()),
            };
            match result {
                Ok(Some(path)) => {
                    tracing::info!(?mail, path = %path.display(), "mail written to the mail folder");
                    return;
                }
                Ok(None) => {
                    tracing::info!(?mail, "mail sent");
                    return;
                }
                Err(e) => match waits.next() {
                    Some(wait) => {
                        tracing::warn!(?mail, error = %e, retry_in = ?wait, "mail not sent; retrying");
                        tokio::time::sleep(*wait).await;
                    }
                    None => {
                        tracing::error!(?mail, error = %e, "mail not sent; giving up");
                        return;
                    }
                },
            }
        }
    }

    fn message(&self, mail: &Mail) -> Result<lettre::Message, String> {
        let to: Mailbox = mail.to.parse().map_err(|e| format!("recipient: {e}"))?;
        lettre::Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(mail.subject.clone())
            .multipart(MultiPart::alternative_plain_html(
                mail.text.clone(),
                mail.html.clone(),
            ))
            .map_err(|e| e.to_string())
    }
}

impl Outbox for Mailer {
    fn send(&self, mail: Mail) {
        if let Err(e) = self.tx.try_send(mail) {
            tracing::error!(error = %e, "the mail queue is full or closed; a message was dropped");
        }
    }
}
