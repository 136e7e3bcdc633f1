//! Settings: defaults, then the TOML file (`--config` / `MINTGATE_CONFIG`), then `MINTGATE_*`
//! environment variables (`MINTGATE_SESSION_IDLE_TIMEOUT=45m` sets `session_idle_timeout`).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use ipnet::IpNet;
use secrecy::SecretString;
use serde::{Deserialize, Deserializer, Serialize};
use url::Url;

/// Everything mintgate is configured with, in sections: each service is handed the section it
/// needs (`&LoginSettings` for the throttle, `&ApiKeySettings` for the key format...), never the
/// whole. The sections are a Rust shape only: the configuration file and the `MINTGATE_*`
/// variables stay flat (`login_max_failures`, not `login.max_failures`), each field naming its
/// key with `rename`. A new section (MFA, SAML, SCIM) is one struct here and one line in
/// [`Settings::load`].
#[derive(Debug, Clone, Serialize)]
pub struct Settings {
    /// Where the SQLite file and the secrets key live unless `database_url` or
    /// `secrets_key_file` say otherwise; shared by those two sections, so it stands alone.
    pub data_dir: PathBuf,
    #[serde(flatten)]
    pub server: ServerSettings,
    #[serde(flatten)]
    pub database: DatabaseSettings,
    #[serde(flatten)]
    pub secrets: SecretsSettings,
    #[serde(flatten)]
    pub sessions: SessionSettings,
    #[serde(flatten)]
    pub login: LoginSettings,
    #[serde(flatten)]
    pub oauth: OAuthSettings,
    #[serde(flatten)]
    pub api_keys: ApiKeySettings,
    #[serde(flatten)]
    pub first_run: FirstRunSettings,
    #[serde(flatten)]
    pub federation: FederationSettings,
    #[serde(flatten)]
    pub mail: MailSettings,
}

/// E-mail delivery (issue #14): over SMTP when `smtp_url` is set; otherwise each message is
/// written as a file to `<data_dir>/mail/` (and logged), so a server with nothing configured
/// still works.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct MailSettings {
    /// lettre's URL syntax: `smtps://user:password@host:465` (TLS), `smtp://host:587?tls=required`
    /// (STARTTLS), `smtp://host:25` (plain, for a relay on the same host). It may hold a
    /// password, so it is never logged or printed.
    #[serde(rename = "smtp_url", skip_serializing)]
    pub smtp_url: Option<SecretString>,
    /// The From address (default: `mintgate <noreply@ISSUER-HOST>`).
    #[serde(rename = "mail_from")]
    pub from: Option<String>,
}

/// Where mintgate listens and how it names itself.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct ServerSettings {
    /// The issuer identifier and public base URL (OIDC Core §2, RFC 8414 §2).
    pub issuer: Url,
    pub bind: SocketAddr,
    /// Serve `/metrics` only on this address (a port the load balancer does not expose);
    /// unset: on `bind`, as every other route.
    pub metrics_bind: Option<SocketAddr>,
    /// Proxies whose `X-Forwarded-For` is believed.
    #[serde(deserialize_with = "cidr_list")]
    pub trusted_proxies: Vec<IpNet>,
    /// Largest accepted request body, in bytes.
    pub body_limit: usize,
    pub log_format: LogFormat,
}

/// The database: a SQLite file or a PostgreSQL URL, and the pool.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct DatabaseSettings {
    /// A SQLite file path (default `<data_dir>/mintgate.db`) or a `postgres://` URL.
    #[serde(rename = "database_url")]
    pub url: Option<String>,
    /// Connections per instance.
    #[serde(rename = "database_pool_size")]
    pub pool_size: u32,
}

/// Secrets at rest.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct SecretsSettings {
    /// The key-encryption key for secrets at rest (default `<data_dir>/secrets.key`).
    #[serde(rename = "secrets_key_file")]
    pub key_file: Option<PathBuf>,
}

/// Browser session lifetimes.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct SessionSettings {
    /// A session ends after this long without a request.
    #[serde(rename = "session_idle_timeout", with = "humantime_serde")]
    pub idle_timeout: Duration,
    /// And this long after sign-in, whatever the activity.
    #[serde(rename = "session_absolute_timeout", with = "humantime_serde")]
    pub absolute_timeout: Duration,
}

/// Password sign-in: the brute-force throttle and the password hashing queue.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct LoginSettings {
    /// Failed sign-ins for one account before it is locked.
    #[serde(rename = "login_max_failures")]
    pub max_failures: u32,
    /// Failed sign-ins from one IP address before it is locked.
    #[serde(rename = "login_ip_max_failures")]
    pub ip_max_failures: u32,
    /// First lock duration; each further failure doubles it, up to `lockout_max`.
    #[serde(rename = "login_lockout", with = "humantime_serde")]
    pub lockout: Duration,
    #[serde(rename = "login_lockout_max", with = "humantime_serde")]
    pub lockout_max: Duration,
    /// Failures older than this are forgotten.
    #[serde(rename = "login_failure_window", with = "humantime_serde")]
    pub failure_window: Duration,
    /// Password hashes waiting for a core before sign-ins answer 429.
    pub password_hash_queue: usize,
}

/// Enterprise federation (SSO connections and verified domains).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct FederationSettings {
    /// The DNS server that domain verification asks for `_mintgate-challenge.<domain>` TXT
    /// records (`127.0.0.1:5353`); unset: the first `nameserver` of `/etc/resolv.conf`.
    pub dns_resolver: Option<SocketAddr>,
}

/// The authorization server. Token lifetimes are per client (`mintgate client create`), not
/// configured here.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct OAuthSettings {
    /// `aud` of JWT access tokens when the request names no `resource` (default: the issuer).
    pub api_audience: Option<String>,
}

/// API keys: `<prefix>_key_<environment>_<random>`, their lifetime ceiling and rotation.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct ApiKeySettings {
    #[serde(rename = "api_key_prefix")]
    pub prefix: String,
    #[serde(rename = "api_key_environment")]
    pub environment: String,
    /// Longest lifetime of an API key; unset: no limit (`never` allowed).
    #[serde(rename = "api_key_max_lifetime", with = "humantime_serde")]
    pub max_lifetime: Option<Duration>,
    /// How long a rotated key's old secret keeps working.
    #[serde(rename = "api_key_rotation_grace", with = "humantime_serde")]
    pub rotation_grace: Duration,
    /// Accept `?api_key=` on `/v1` (legacy systems; answered with a `Deprecation` header).
    #[serde(rename = "api_key_legacy_query")]
    pub legacy_query: bool,
}

/// First-run organisation, owner account and (optional) password: used only on a database
/// with no users.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct FirstRunSettings {
    #[serde(rename = "admin_org")]
    pub org: String,
    #[serde(rename = "admin_username")]
    pub username: String,
    #[serde(rename = "admin_email")]
    pub email: String,
    #[serde(rename = "admin_password", skip_serializing)]
    pub password: Option<SecretString>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("./data"),
            server: ServerSettings::default(),
            database: DatabaseSettings::default(),
            secrets: SecretsSettings::default(),
            sessions: SessionSettings::default(),
            login: LoginSettings::default(),
            oauth: OAuthSettings::default(),
            api_keys: ApiKeySettings::default(),
            first_run: FirstRunSettings::default(),
            federation: FederationSettings::default(),
            mail: MailSettings::default(),
        }
    }
}

impl Default for ServerSettings {
    fn default() -> Self {
        Self {
            issuer: Url::parse("http://localhost:8080").expect("static URL"),
            bind: SocketAddr::from(([127, 0, 0, 1], 8080)),
            metrics_bind: None,
            trusted_proxies: Vec::new(),
            body_limit: 64 * 1024,
            log_format: LogFormat::Text,
        }
    }
}

impl Default for DatabaseSettings {
    fn default() -> Self {
        Self {
            url: None,
            pool_size: 8,
        }
    }
}

impl Default for SessionSettings {
    fn default() -> Self {
        Self {
            idle_timeout: Duration::from_secs(30 * 60),
            absolute_timeout: Duration::from_secs(10 * 3600),
        }
    }
}

impl Default for LoginSettings {
    fn default() -> Self {
        Self {
            max_failures: 5,
            ip_max_failures: 50,
            lockout: Duration::from_secs(60),
            lockout_max: Duration::from_secs(15 * 60),
            failure_window: Duration::from_secs(15 * 60),
            password_hash_queue: 32,
        }
    }
}

impl Default for ApiKeySettings {
    fn default() -> Self {
        Self {
            prefix: "mg".into(),
            environment: "prod".into(),
            max_lifetime: None,
            rotation_grace: Duration::from_secs(24 * 3600),
            legacy_query: true,
        }
    }
}

impl Default for FirstRunSettings {
    fn default() -> Self {
        Self {
            org: "default".into(),
            username: "admin".into(),
            email: "admin@localhost".into(),
            password: None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration: {0}")]
    Load(String),
    #[error("configuration key `{key}`: {message}")]
    Invalid { key: &'static str, message: String },
}

impl Settings {
    /// Loads defaults < file < environment. `file` comes from `--config` or `MINTGATE_CONFIG`.
    ///
    /// Each section is read from the same flat set of keys on its own (sections ignore the
    /// keys of the others), not through `#[serde(flatten)]`: flattening buffers the values and
    /// loses the key a bad one was found under, which the error must name.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        let mut figment = Figment::from(Serialized::defaults(Settings::default()));
        if let Some(path) = file {
            if !path.exists() {
                return Err(ConfigError::Invalid {
                    key: "config",
                    message: format!("file {} does not exist", path.display()),
                });
            }
            figment = figment.merge(Toml::file(path));
        }
        figment = figment
            .merge(Env::prefixed("MINTGATE_").ignore(&["config", "log", "debug", "api_key"]));
        let settings = Settings {
            data_dir: figment.extract_inner("data_dir").map_err(load_error)?,
            server: figment.extract().map_err(load_error)?,
            database: figment.extract().map_err(load_error)?,
            secrets: figment.extract().map_err(load_error)?,
            sessions: figment.extract().map_err(load_error)?,
            login: figment.extract().map_err(load_error)?,
            oauth: figment.extract().map_err(load_error)?,
            api_keys: figment.extract().map_err(load_error)?,
            first_run: figment.extract().map_err(load_error)?,
            federation: figment.extract().map_err(load_error)?,
            mail: figment.extract().map_err(load_error)?,
        };
        settings.validate()?;
        Ok(settings)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let bad = |key, message: &str| {
            Err(ConfigError::Invalid {
                key,
                message: message.into(),
            })
        };
        let server = &self.server;
        if !matches!(server.issuer.scheme(), "http" | "https") {
            return bad("issuer", "must be an http:// or https:// URL");
        }
        if server.issuer.query().is_some() || server.issuer.fragment().is_some() {
            return bad(
                "issuer",
                "must not have a query or fragment (OIDC Discovery §3)",
            );
        }
        if server.metrics_bind == Some(server.bind) && server.bind.port() != 0 {
            return bad("metrics_bind", "must differ from `bind`");
        }
        if self.database.pool_size == 0 {
            return bad("database_pool_size", "must be at least 1");
        }
        if self.sessions.idle_timeout.is_zero() || self.sessions.absolute_timeout.is_zero() {
            return bad("session_idle_timeout", "session lifetimes must be positive");
        }
        if self.login.max_failures == 0 || self.login.ip_max_failures == 0 {
            return bad("login_max_failures", "must be at least 1");
        }
        let token_part = |s: &str| {
            !s.is_empty() && s.len() <= 16 && s.chars().all(|c| c.is_ascii_alphanumeric())
        };
        if !token_part(&self.api_keys.prefix) {
            return bad("api_key_prefix", "must be 1-16 letters or digits");
        }
        if !token_part(&self.api_keys.environment) {
            return bad("api_key_environment", "must be 1-16 letters or digits");
        }
        if server.body_limit < 1024 {
            return bad("body_limit", "must be at least 1024 bytes");
        }
        if self.first_run.username.trim().is_empty() || self.first_run.org.trim().is_empty() {
            return bad(
                "admin_username",
                "the first-run organisation and username must not be empty",
            );
        }
        Ok(())
    }

    pub fn database_url(&self) -> String {
        self.database
            .url
            .clone()
            .unwrap_or_else(|| self.data_dir.join("mintgate.db").display().to_string())
    }

    pub fn secrets_key_file(&self) -> PathBuf {
        self.secrets
            .key_file
            .clone()
            .unwrap_or_else(|| self.data_dir.join("secrets.key"))
    }
}

/// Names the key as written in the file (`login_max_failures`), whatever its source.
fn load_error(e: figment::Error) -> ConfigError {
    let key = e.path.join(".").to_lowercase();
    let message = format!("{}", e.kind);
    ConfigError::Load(if key.is_empty() {
        message
    } else {
        format!("key `{key}`: {message}")
    })
}

impl ServerSettings {
    pub fn is_https(&self) -> bool {
        self.issuer.scheme() == "https"
    }

    /// The issuer without a trailing slash, the form used in `iss` claims and URLs.
    pub fn issuer_str(&self) -> &str {
        self.issuer.as_str().trim_end_matches('/')
    }

    /// An absolute URL on this server for an absolute path such as `/login`.
    pub fn url_for(&self, path: &str) -> String {
        format!("{}{path}", self.issuer_str())
    }

    /// WebAuthn refuses IP-literal origins (WebAuthn L2 §5.1.4.1, "valid domain").
    pub fn issuer_is_ip_literal(&self) -> bool {
        matches!(
            self.issuer.host(),
            Some(url::Host::Ipv4(_) | url::Host::Ipv6(_))
        )
    }
}

/// Accepts `["10.0.0.0/8", ...]` (file) or `"10.0.0.0/8,192.168.0.0/16"` (environment).
fn cidr_list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<IpNet>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        One(String),
        Many(Vec<String>),
    }
    let items = match Raw::deserialize(d)? {
        Raw::One(s) => s
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect(),
        Raw::Many(v) => v,
    };
    items
        .iter()
        .map(|s| parse_cidr(s).map_err(serde::de::Error::custom))
        .collect()
}

/// Text that is neither an IP address nor a CIDR block.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not an IP address or CIDR block")]
pub struct CidrError(pub String);

/// A CIDR block, or a bare address meaning just that address. A block of IPv4-mapped IPv6
/// addresses (`::ffff:10.0.0.0/104`) is the IPv4 block it maps (`10.0.0.0/8`), since client
/// addresses are compared in canonical form.
pub fn parse_cidr(s: &str) -> Result<IpNet, CidrError> {
    let s = s.trim();
    let net = s
        .parse::<IpNet>()
        .or_else(|_| s.parse::<std::net::IpAddr>().map(IpNet::from))
        .map_err(|_| CidrError(s.to_owned()))?;
    Ok(match net {
        IpNet::V6(v6) if v6.prefix_len() >= 96 => match v6.addr().to_ipv4_mapped() {
            Some(v4) => ipnet::Ipv4Net::new(v4, v6.prefix_len() - 96)
                .map(IpNet::V4)
                .unwrap_or(net),
            None => net,
        },
        other => other,
    })
}

#[cfg(test)]
mod cidr_tests {
    use super::parse_cidr;

    #[test]
    fn ipv4_mapped_blocks_are_ipv4_blocks() {
        assert_eq!(
            parse_cidr("::ffff:127.0.0.1").unwrap().to_string(),
            "127.0.0.1/32"
        );
        assert_eq!(
            parse_cidr("::ffff:10.0.0.0/104").unwrap().to_string(),
            "10.0.0.0/8"
        );
        assert_eq!(
            parse_cidr("2001:db8::/32").unwrap().to_string(),
            "2001:db8::/32"
        );
        assert_eq!(parse_cidr("::/0").unwrap().to_string(), "::/0");
    }
}

#[cfg(test)]
mod load_tests {
    use super::*;

    fn load_toml(text: &str) -> Result<Settings, ConfigError> {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("mintgate.toml");
        std::fs::write(&file, text).unwrap();
        Settings::load(Some(&file))
    }

    /// The file and the environment stay flat: the sections are a Rust shape only.
    #[test]
    fn the_keys_stay_flat_as_documented() {
        let value = serde_json::to_value(Settings::default()).unwrap();
        let mut keys: Vec<&str> = value
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            [
                "admin_email",
                "admin_org",
                "admin_username",
                "api_audience",
                "api_key_environment",
                "api_key_legacy_query",
                "api_key_max_lifetime",
                "api_key_prefix",
                "api_key_rotation_grace",
                "bind",
                "body_limit",
                "data_dir",
                "database_pool_size",
                "database_url",
                "dns_resolver",
                "issuer",
                "log_format",
                "login_failure_window",
                "login_ip_max_failures",
                "login_lockout",
                "login_lockout_max",
                "login_max_failures",
                "mail_from",
                "metrics_bind",
                "password_hash_queue",
                "secrets_key_file",
                "session_absolute_timeout",
                "session_idle_timeout",
                "trusted_proxies",
            ]
        );
    }

    #[test]
    fn every_key_lands_in_its_section() {
        let s = load_toml(
            r#"
            issuer = "https://id.example"
            bind = "127.0.0.1:9000"
            metrics_bind = "127.0.0.1:9100"
            data_dir = "/var/lib/mg"
            database_url = "postgres://mg@db/mg"
            database_pool_size = 3
            secrets_key_file = "/etc/mg/kek"
            session_idle_timeout = "45m"
            session_absolute_timeout = "2h"
            login_max_failures = 7
            login_ip_max_failures = 70
            login_lockout = "2m"
            login_lockout_max = "1h"
            login_failure_window = "30m"
            trusted_proxies = "10.0.0.0/8, 192.168.0.0/16"
            password_hash_queue = 4
            body_limit = 2048
            log_format = "json"
            api_audience = "https://api.example"
            api_key_prefix = "acme"
            api_key_environment = "test"
            api_key_max_lifetime = "30d"
            api_key_rotation_grace = "1h"
            api_key_legacy_query = false
            admin_org = "Acme"
            admin_username = "root"
            admin_email = "root@acme.example"
            admin_password = "correct horse"
            "#,
        )
        .unwrap();
        let min = |m: u64| Duration::from_secs(60 * m);
        assert_eq!(s.server.issuer_str(), "https://id.example");
        assert_eq!(s.server.bind.port(), 9000);
        assert_eq!(s.server.metrics_bind.map(|a| a.port()), Some(9100));
        assert_eq!(s.server.trusted_proxies.len(), 2);
        assert_eq!(s.server.body_limit, 2048);
        assert_eq!(s.server.log_format, LogFormat::Json);
        assert_eq!(s.data_dir, PathBuf::from("/var/lib/mg"));
        assert_eq!(s.database_url(), "postgres://mg@db/mg");
        assert_eq!(s.database.pool_size, 3);
        assert_eq!(s.secrets_key_file(), PathBuf::from("/etc/mg/kek"));
        assert_eq!(s.sessions.idle_timeout, min(45));
        assert_eq!(s.sessions.absolute_timeout, min(120));
        assert_eq!(s.login.max_failures, 7);
        assert_eq!(s.login.ip_max_failures, 70);
        assert_eq!(s.login.lockout, min(2));
        assert_eq!(s.login.lockout_max, min(60));
        assert_eq!(s.login.failure_window, min(30));
        assert_eq!(s.login.password_hash_queue, 4);
        assert_eq!(s.oauth.api_audience.as_deref(), Some("https://api.example"));
        assert_eq!(s.api_keys.prefix, "acme");
        assert_eq!(s.api_keys.environment, "test");
        assert_eq!(s.api_keys.max_lifetime, Some(min(30 * 24 * 60)));
        assert_eq!(s.api_keys.rotation_grace, min(60));
        assert!(!s.api_keys.legacy_query);
        assert_eq!(s.first_run.org, "Acme");
        assert_eq!(s.first_run.username, "root");
        assert_eq!(s.first_run.email, "root@acme.example");
        assert!(s.first_run.password.is_some());
    }

    #[test]
    fn unset_keys_keep_their_defaults() {
        let s = load_toml("login_max_failures = 9\n").unwrap();
        assert_eq!(s.login.max_failures, 9);
        assert_eq!(s.login.ip_max_failures, 50);
        assert_eq!(s.sessions.idle_timeout, Duration::from_secs(30 * 60));
        assert_eq!(s.data_dir, PathBuf::from("./data"));
        assert_eq!(s.database_url(), "./data/mintgate.db");
        assert_eq!(s.api_keys.prefix, "mg");
        assert!(s.first_run.password.is_none());
    }

    #[test]
    fn a_bad_value_is_reported_under_its_key() {
        for (text, key) in [
            ("login_max_failures = \"many\"\n", "login_max_failures"),
            (
                "api_key_rotation_grace = \"soon\"\n",
                "api_key_rotation_grace",
            ),
            ("database_pool_size = -1\n", "database_pool_size"),
            ("trusted_proxies = \"not-a-net\"\n", "trusted_proxies"),
            ("admin_username = \" \"\n", "admin_username"),
        ] {
            let e = load_toml(text).unwrap_err().to_string();
            assert!(e.contains(&format!("`{key}`")), "{text}: {e}");
        }
    }
}
