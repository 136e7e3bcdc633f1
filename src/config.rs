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

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// The issuer identifier and public base URL (OIDC Core §2, RFC 8414 §2).
    pub issuer: Url,
    pub bind: SocketAddr,
    /// Serve `/metrics` only on this address (a port the load balancer does not expose);
    /// unset: on `bind`, as every other route.
    pub metrics_bind: Option<SocketAddr>,
    pub data_dir: PathBuf,
    /// A SQLite file path (default `<data_dir>/mintgate.db`) or a `postgres://` URL.
    pub database_url: Option<String>,
    pub database_pool_size: u32,
    /// The key-encryption key for secrets at rest (default `<data_dir>/secrets.key`).
    pub secrets_key_file: Option<PathBuf>,
    #[serde(with = "humantime_serde")]
    pub session_idle_timeout: Duration,
    #[serde(with = "humantime_serde")]
    pub session_absolute_timeout: Duration,
    /// Failed sign-ins for one account before it is locked.
    pub login_max_failures: u32,
    /// Failed sign-ins from one IP address before it is locked.
    pub login_ip_max_failures: u32,
    /// First lock duration; each further failure doubles it, up to `login_lockout_max`.
    #[serde(with = "humantime_serde")]
    pub login_lockout: Duration,
    #[serde(with = "humantime_serde")]
    pub login_lockout_max: Duration,
    /// Failures older than this are forgotten.
    #[serde(with = "humantime_serde")]
    pub login_failure_window: Duration,
    /// Proxies whose `X-Forwarded-For` is believed.
    #[serde(deserialize_with = "cidr_list")]
    pub trusted_proxies: Vec<IpNet>,
    /// Password hashes waiting for a core before sign-ins answer 429.
    pub password_hash_queue: usize,
    /// Largest accepted request body, in bytes.
    pub body_limit: usize,
    pub log_format: LogFormat,
    /// `aud` of JWT access tokens when the request names no `resource` (default: the issuer).
    pub api_audience: Option<String>,
    /// API keys look like `<api_key_prefix>_key_<api_key_environment>_<random>`.
    pub api_key_prefix: String,
    pub api_key_environment: String,
    /// Longest lifetime of an API key; unset: no limit (`never` allowed).
    #[serde(with = "humantime_serde")]
    pub api_key_max_lifetime: Option<Duration>,
    /// How long a rotated key's old secret keeps working.
    #[serde(with = "humantime_serde")]
    pub api_key_rotation_grace: Duration,
    /// Accept `?api_key=` on `/v1` (legacy systems; answered with a `Deprecation` header).
    pub api_key_legacy_query: bool,
    /// First-run organisation, owner account and (optional) password.
    pub admin_org: String,
    pub admin_username: String,
    pub admin_email: String,
    #[serde(skip_serializing)]
    pub admin_password: Option<SecretString>,
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
            issuer: Url::parse("http://localhost:8080").expect("static URL"),
            bind: SocketAddr::from(([127, 0, 0, 1], 8080)),
            metrics_bind: None,
            data_dir: PathBuf::from("./data"),
            database_url: None,
            database_pool_size: 8,
            secrets_key_file: None,
            session_idle_timeout: Duration::from_secs(30 * 60),
            session_absolute_timeout: Duration::from_secs(10 * 3600),
            login_max_failures: 5,
            login_ip_max_failures: 50,
            login_lockout: Duration::from_secs(60),
            login_lockout_max: Duration::from_secs(15 * 60),
            login_failure_window: Duration::from_secs(15 * 60),
            trusted_proxies: Vec::new(),
            password_hash_queue: 32,
            body_limit: 64 * 1024,
            log_format: LogFormat::Text,
            api_audience: None,
            api_key_prefix: "mg".into(),
            api_key_environment: "prod".into(),
            api_key_max_lifetime: None,
            api_key_rotation_grace: Duration::from_secs(24 * 3600),
            api_key_legacy_query: true,
            admin_org: "default".into(),
            admin_username: "admin".into(),
            admin_email: "admin@localhost".into(),
            admin_password: None,
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
        let settings: Settings = figment.extract().map_err(|e| {
            // Name the key as written in the file (`login_max_failures`), whatever its source.
            let key = e.path.join(".").to_lowercase();
            let message = format!("{}", e.kind);
            ConfigError::Load(if key.is_empty() {
                message
            } else {
                format!("key `{key}`: {message}")
            })
        })?;
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
        if !matches!(self.issuer.scheme(), "http" | "https") {
            return bad("issuer", "must be an http:// or https:// URL");
        }
        if self.issuer.query().is_some() || self.issuer.fragment().is_some() {
            return bad(
                "issuer",
                "must not have a query or fragment (OIDC Discovery §3)",
            );
        }
        if self.metrics_bind == Some(self.bind) && self.bind.port() != 0 {
            return bad("metrics_bind", "must differ from `bind`");
        }
        if self.database_pool_size == 0 {
            return bad("database_pool_size", "must be at least 1");
        }
        if self.session_idle_timeout.is_zero() || self.session_absolute_timeout.is_zero() {
            return bad("session_idle_timeout", "session lifetimes must be positive");
        }
        if self.login_max_failures == 0 || self.login_ip_max_failures == 0 {
            return bad("login_max_failures", "must be at least 1");
        }
        let token_part = |s: &str| {
            !s.is_empty() && s.len() <= 16 && s.chars().all(|c| c.is_ascii_alphanumeric())
        };
        if !token_part(&self.api_key_prefix) {
            return bad("api_key_prefix", "must be 1-16 letters or digits");
        }
        if !token_part(&self.api_key_environment) {
            return bad("api_key_environment", "must be 1-16 letters or digits");
        }
        if self.body_limit < 1024 {
            return bad("body_limit", "must be at least 1024 bytes");
        }
        if self.admin_username.trim().is_empty() || self.admin_org.trim().is_empty() {
            return bad(
                "admin_username",
                "the first-run organisation and username must not be empty",
            );
        }
        Ok(())
    }

    pub fn database_url(&self) -> String {
        self.database_url
            .clone()
            .unwrap_or_else(|| self.data_dir.join("mintgate.db").display().to_string())
    }

    pub fn secrets_key_file(&self) -> PathBuf {
        self.secrets_key_file
            .clone()
            .unwrap_or_else(|| self.data_dir.join("secrets.key"))
    }

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
