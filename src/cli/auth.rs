//! `mintgate auth ...`: the command-line client of a mintgate server. Signs in with the device
//! grant (RFC 8628) as the built-in public client `mintgate-cli`, keeps tokens in the user's
//! config directory (mode 0600), refreshes them, and manages API keys through `/v1`.

use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use clap::Subcommand;
use reqwest::blocking::{Client, RequestBuilder, Response};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::failure::CliFailure;

pub const CLI_CLIENT_ID: &str = "mintgate-cli";
const LOGIN_SCOPES: &str = "openid offline_access read:evaluations write:evaluations read:policies write:policies read:org write:org ci admin";

/// `mintgate auth [--server URL] <command>`; `--server` may also follow the subcommand
/// (`mintgate auth list-keys --server URL`).
#[derive(Debug, clap::Args)]
pub struct AuthArgs {
    /// The mintgate server, e.g. https://id.example.com (default: the one of the stored login,
    /// or the configured issuer for `login`).
    #[arg(long, global = true, env = "MINTGATE_SERVER")]
    pub server: Option<String>,
    #[command(subcommand)]
    pub command: AuthCommand,
}

#[derive(Debug, Subcommand)]
pub enum AuthCommand {
    /// Sign in through the browser with a one-time code (device flow).
    Login,
    /// Forget the stored login (and revoke its refresh token).
    Logout,
    /// Create an API key; prints it once.
    CreateKey {
        #[arg(long)]
        name: String,
        /// Comma-separated scopes, e.g. read:evaluations,ci
        #[arg(long)]
        scope: String,
        /// 30m, 24h, 7d, 90d, never (not recommended)
        #[arg(long)]
        expires_in: Option<String>,
        /// Comma-separated CIDRs.
        #[arg(long)]
        allowed_ips: Option<String>,
    },
    /// List your organisation's keys.
    ListKeys,
    /// Revoke a key.
    RevokeKey {
        #[arg(long)]
        key_id: String,
    },
    /// Issue a new secret for a key (the old one works for the grace period).
    RotateKey {
        #[arg(long)]
        key_id: String,
    },
    /// Show what the current credential is and may do.
    Verify,
}

#[derive(Debug, Serialize, Deserialize)]
struct Credentials {
    server: String,
    access_token: String,
    refresh_token: Option<String>,
    expires_at: i64,
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

fn fail(code: u8, message: impl Into<String>) -> CliFailure {
    CliFailure {
        message: message.into(),
        code,
    }
}

fn config_dir() -> Result<PathBuf, CliFailure> {
    if let Ok(dir) = std::env::var("MINTGATE_CONFIG_DIR") {
        return Ok(PathBuf::from(dir));
    }
    if let Ok(dir) = std::env::var("XDG_CONFIG_HOME") {
        return Ok(PathBuf::from(dir).join("mintgate"));
    }
    let home =
        std::env::var("HOME").map_err(|_| fail(1, "cannot find a config directory (set HOME)"))?;
    Ok(PathBuf::from(home).join(".config").join("mintgate"))
}

fn credentials_path() -> Result<PathBuf, CliFailure> {
    Ok(config_dir()?.join("credentials.json"))
}

fn save(creds: &Credentials) -> Result<(), CliFailure> {
    let path = credentials_path()?;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let text = serde_json::to_string_pretty(creds)?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    use std::io::Write;
    options.open(&path)?.write_all(text.as_bytes())?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
    }
    Ok(())
}

fn load() -> Result<Option<Credentials>, CliFailure> {
    match std::fs::read_to_string(credentials_path()?) {
        Ok(text) => Ok(Some(serde_json::from_str(&text).map_err(|_| {
            fail(
                1,
                "the stored login is unreadable: run `mintgate auth login`",
            )
        })?)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// `mg_key_prod_AbCd…wxyz`: enough to recognise, never enough to use.
pub fn redact(secret: &str) -> String {
    let n = secret.chars().count();
    if n <= 16 {
        return "…".into();
    }
    let head: String = secret.chars().take(12).collect();
    let tail: String = secret.chars().skip(n - 4).collect();
    format!("{head}…{tail}")
}

struct Http {
    client: Client,
    debug: bool,
}

impl Http {
    fn new() -> Result<Self, CliFailure> {
        let client = Client::builder().timeout(Duration::from_secs(30)).build()?;
        Ok(Self {
            client,
            debug: std::env::var("MINTGATE_DEBUG").as_deref() == Ok("1"),
        })
    }

    fn send(&self, rb: RequestBuilder, credential: Option<&str>) -> Result<Response, CliFailure> {
        let request = rb.build()?;
        let (method, url) = (request.method().clone(), request.url().clone());
        let shown = format!(
            "{}://{}{}",
            url.scheme(),
            url.host_str().unwrap_or(""),
            url.port().map(|p| format!(":{p}")).unwrap_or_default()
        );
        let res = self.client.execute(request).map_err(|e| {
            fail(
                5,
                format!(
                    "cannot reach the mintgate server at {shown}: {}",
                    e.without_url()
                ),
            )
        })?;
        if self.debug {
            eprintln!(
                "DEBUG {method} {}{} -> {} (credential {})",
                shown,
                url.path(),
                res.status().as_u16(),
                credential.map(redact).unwrap_or_else(|| "none".into())
            );
        }
        Ok(res)
    }
}

/// Turns an error answer into plain words and an exit code.
fn api_failure(res: Response) -> CliFailure {
    let status = res.status().as_u16();
    let body: Value = res.json().unwrap_or(Value::Null);
    let message = body["message"]
        .as_str()
        .or(body["error_description"].as_str())
        .unwrap_or("the request failed");
    let mut text = format!("{message} (HTTP {status}");
    if let Some(code) = body["code"].as_str().or(body["error"].as_str()) {
        text.push_str(&format!(", {code}"));
    }
    text.push(')');
    if let Some(scope) = body["required_scope"].as_str() {
        text.push_str(&format!(": this needs the `{scope}` scope"));
    }
    if status == 401 {
        text.push_str(". Run `mintgate auth login` again, or check MINTGATE_API_KEY.");
    }
    fail(if matches!(status, 401 | 403) { 4 } else { 1 }, text)
}

fn token_request(http: &Http, server: &str, form: &[(&str, &str)]) -> Result<Response, CliFailure> {
    http.send(
        http.client.post(format!("{server}/oauth/token")).form(form),
        None,
    )
}

/// The stored login, which must be for `server_flag` when one is given: a token is never sent
/// to a server other than the one that issued it.
fn stored_login(server_flag: Option<&str>) -> Result<Credentials, CliFailure> {
    let creds = load()?.ok_or_else(|| {
        fail(
            3,
            "not logged in: run `mintgate auth login` (or set MINTGATE_API_KEY)",
        )
    })?;
    match server_flag {
        Some(server) if server.trim_end_matches('/') != creds.server.trim_end_matches('/') => {
            Err(fail(
                3,
                format!(
                    "not logged in to {server} (the stored login is for {}): run `mintgate auth login --server {server}`",
                    creds.server
                ),
            ))
        }
        _ => Ok(creds),
    }
}

/// The credential to call `/v1` with: `MINTGATE_API_KEY`, or the stored login (refreshed).
fn credential(http: &Http, server_flag: Option<&str>) -> Result<(String, String), CliFailure> {
    if let Ok(key) = std::env::var("MINTGATE_API_KEY") {
        let server = server_flag
            .map(str::to_owned)
            .or_else(|| std::env::var("MINTGATE_SERVER").ok())
            .or_else(|| load().ok().flatten().map(|c| c.server))
            .unwrap_or_else(|| "http://localhost:8080".into());
        return Ok((server, key));
    }
    let mut creds = stored_login(server_flag)?;
    if creds.expires_at - 30 <= now() {
        let refresh = creds
            .refresh_token
            .clone()
            .ok_or_else(|| fail(3, "the login expired: run `mintgate auth login`"))?;
        let res = token_request(
            http,
            &creds.server,
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", &refresh),
                ("client_id", CLI_CLIENT_ID),
            ],
        )?;
        if !res.status().is_success() {
            return Err(fail(3, "the login expired: run `mintgate auth login`"));
        }
        let body: Value = res.json()?;
        creds.access_token = body["access_token"].as_str().unwrap_or_default().to_owned();
        creds.refresh_token = body["refresh_token"]
            .as_str()
            .map(str::to_owned)
            .or(creds.refresh_token);
        creds.expires_at = now() + body["expires_in"].as_i64().unwrap_or(0);
        save(&creds)?;
    }
    Ok((creds.server, creds.access_token))
}

/// Calls `/v1` with the current credential; an error answer becomes a [`CliFailure`].
fn api(
    http: &Http,
    server: Option<&str>,
    method: reqwest::Method,
    path: &str,
    body: Option<&Value>,
) -> Result<Value, CliFailure> {
    let (server, cred) = credential(http, server)?;
    let server = server.trim_end_matches('/');
    let mut rb = http
        .client
        .request(method, format!("{server}{path}"))
        .bearer_auth(&cred);
    if let Some(b) = body {
        rb = rb.json(b);
    }
    let res = http.send(rb, Some(&cred))?;
    if !res.status().is_success() {
        return Err(api_failure(res));
    }
    if res.status() == reqwest::StatusCode::NO_CONTENT {
        return Ok(Value::Null);
    }
    Ok(res.json()?)
}

fn print(json_mode: bool, value: &Value, human: String) {
    if json_mode {
        println!("{value}")
    } else {
        println!("{human}")
    }
}

pub fn run(args: AuthArgs, default_server: &str, json_mode: bool) -> Result<(), CliFailure> {
    let http = Http::new()?;
    let server = args.server.as_deref();
    match args.command {
        AuthCommand::Login => login(
            &http,
            server.unwrap_or(default_server).trim_end_matches('/'),
            json_mode,
        ),
        AuthCommand::Logout => {
            let stored = match load()? {
                None => None,
                Some(_) => Some(stored_login(server)?),
            };
            if let Some(creds) = stored {
                if let Some(refresh) = &creds.refresh_token {
                    let _ = http.send(
                        http.client
                            .post(format!("{}/oauth/revoke", creds.server))
                            .form(&[("token", refresh.as_str()), ("client_id", CLI_CLIENT_ID)]),
                        None,
                    );
                }
                std::fs::remove_file(credentials_path()?)?;
            }
            print(json_mode, &json!({"logged_out": true}), "logged out".into());
            Ok(())
        }
        AuthCommand::CreateKey {
            name,
            scope,
            expires_in,
            allowed_ips,
        } => {
            let mut body = json!({
                "name": name,
                "scopes": scope.split(',').map(str::trim).filter(|s| !s.is_empty()).collect::<Vec<_>>(),
                "expires_in": expires_in,
            });
            if let Some(ips) = allowed_ips {
                body["allowed_ips"] = ips.into();
            }
            let key = api(
                &http,
                server,
                reqwest::Method::POST,
                "/v1/api-keys",
                Some(&body),
            )?;
            let never = if key["expires_at"].is_null() {
                "\nThis key never expires: not recommended; rotate it regularly."
            } else {
                ""
            };
            let human = format!(
                "{}\n\nid: {}  scopes: {}  expires: {}\nCopy the key now: it is not shown again.{never}",
                key["key"].as_str().unwrap_or(""),
                key["id"].as_str().unwrap_or(""),
                key["scopes"],
                key["expires_at"].as_str().unwrap_or("never"),
            );
            print(json_mode, &key, human);
            Ok(())
        }
        AuthCommand::ListKeys => {
            let body = api(&http, server, reqwest::Method::GET, "/v1/api-keys", None)?;
            let empty = vec![];
            let rows = body["data"].as_array().unwrap_or(&empty);
            let mut human = format!(
                "{:<26} {:<20} {:<32} {:<22} {}",
                "ID", "NAME", "SCOPES", "EXPIRES", "LAST USED"
            );
            for k in rows {
                let scopes = k["scopes"]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .filter_map(|s| s.as_str())
                            .collect::<Vec<_>>()
                            .join(",")
                    })
                    .unwrap_or_default();
                human.push_str(&format!(
                    "\n{:<26} {:<20} {:<32} {:<22} {}{}",
                    k["id"].as_str().unwrap_or(""),
                    k["name"].as_str().unwrap_or(""),
                    scopes,
                    k["expires_at"]
                        .as_str()
                        .unwrap_or("never (not recommended)"),
                    k["last_used_at"].as_str().unwrap_or("never"),
                    if k["rotation_recommended"] == true {
                        "  ← older than 90 days: rotate"
                    } else {
                        ""
                    },
                ));
            }
            print(json_mode, &body, human);
            Ok(())
        }
        AuthCommand::RevokeKey { key_id } => {
            api(
                &http,
                server,
                reqwest::Method::DELETE,
                &format!("/v1/api-keys/{key_id}"),
                None,
            )?;
            print(
                json_mode,
                &json!({"revoked": key_id}),
                format!("revoked {key_id}"),
            );
            Ok(())
        }
        AuthCommand::RotateKey { key_id } => {
            let key = api(
                &http,
                server,
                reqwest::Method::POST,
                &format!("/v1/api-keys/{key_id}/rotate"),
                None,
            )?;
            let human = format!(
                "{}\nThe old secret keeps working for the grace period.",
                key["key"].as_str().unwrap_or("")
            );
            print(json_mode, &key, human);
            Ok(())
        }
        AuthCommand::Verify => {
            let body = api(&http, server, reqwest::Method::GET, "/v1/auth/verify", None)?;
            let human = format!(
                "valid for organization {} with scopes {}; expires {}",
                body["organization"].as_str().unwrap_or(""),
                body["scopes"],
                body["expires_at"].as_str().unwrap_or("never")
            );
            print(json_mode, &body, human);
            Ok(())
        }
    }
}

fn login(http: &Http, server: &str, json_mode: bool) -> Result<(), CliFailure> {
    let res = http.send(
        http.client
            .post(format!("{server}/oauth/device_authorization"))
            .form(&[("client_id", CLI_CLIENT_ID), ("scope", LOGIN_SCOPES)]),
        None,
    )?;
    if !res.status().is_success() {
        return Err(api_failure(res));
    }
    let start: Value = res.json()?;
    let device_code = start["device_code"].as_str().unwrap_or_default().to_owned();
    let mut interval = start["interval"].as_u64().unwrap_or(5);
    let deadline = now() + start["expires_in"].as_i64().unwrap_or(600);
    eprintln!(
        "To sign in, open {} and enter the code {}\n(or open {})",
        start["verification_uri"].as_str().unwrap_or(""),
        start["user_code"].as_str().unwrap_or(""),
        start["verification_uri_complete"].as_str().unwrap_or("")
    );
    loop {
        if now() > deadline {
            return Err(fail(
                4,
                "the code expired before it was approved; run `mintgate auth login` again",
            ));
        }
        std::thread::sleep(Duration::from_secs(interval));
        let res = token_request(
            http,
            server,
            &[
                ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
                ("device_code", &device_code),
                ("client_id", CLI_CLIENT_ID),
            ],
        )?;
        let ok = res.status().is_success();
        let body: Value = res.json()?;
        if ok {
            let creds = Credentials {
                server: server.to_owned(),
                access_token: body["access_token"].as_str().unwrap_or_default().to_owned(),
                refresh_token: body["refresh_token"].as_str().map(str::to_owned),
                expires_at: now() + body["expires_in"].as_i64().unwrap_or(0),
            };
            save(&creds)?;
            print(
                json_mode,
                &json!({"logged_in": true, "server": server, "scope": body["scope"]}),
                format!(
                    "logged in to {server} (scopes: {})",
                    body["scope"].as_str().unwrap_or("")
                ),
            );
            return Ok(());
        }
        match body["error"].as_str() {
            Some("authorization_pending") => {}
            Some("slow_down") => interval += 5,
            Some("access_denied") => return Err(fail(4, "the sign-in was denied in the browser")),
            Some("expired_token") => {
                return Err(fail(4, "the code expired; run `mintgate auth login` again"));
            }
            _ => {
                return Err(fail(
                    4,
                    format!(
                        "sign-in failed: {}",
                        body["error_description"]
                            .as_str()
                            .unwrap_or("unknown error")
                    ),
                ));
            }
        }
    }
}
