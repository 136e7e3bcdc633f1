//! Cookie names and attributes: HttpOnly, SameSite=Lax, Path=/; on an https issuer also
//! Secure and the `__Host-` prefix (no Domain, so no subdomain can set or read them).

use actix_web::cookie::{Cookie, SameSite, time::Duration as CookieDuration};

use crate::config::ServerSettings;

pub const SESSION: &str = "mg_session";
pub const CSRF: &str = "mg_csrf";
/// A pending sign-in's id (see `crate::flows`): short-lived, and dropped once resumed.
pub const FLOW: &str = "mg_flow";

pub fn name(server: &ServerSettings, base: &str) -> String {
    if server.is_https() {
        format!("__Host-{base}")
    } else {
        base.to_owned()
    }
}

pub fn build(server: &ServerSettings, base: &str, value: String) -> Cookie<'static> {
    Cookie::build(name(server, base), value)
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(server.is_https())
        .finish()
}

/// A cookie that ends after `seconds`, whatever the server does.
pub fn short_lived(
    server: &ServerSettings,
    base: &str,
    value: String,
    seconds: i64,
) -> Cookie<'static> {
    let mut c = build(server, base, value);
    c.set_max_age(CookieDuration::seconds(seconds));
    c
}

pub fn removal(server: &ServerSettings, base: &str) -> Cookie<'static> {
    let mut c = build(server, base, String::new());
    c.set_max_age(CookieDuration::ZERO);
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_issuer_gets_secure_host_prefixed_cookies() {
        let https = ServerSettings {
            issuer: "https://id.example".parse().unwrap(),
            ..ServerSettings::default()
        };
        let c = build(&https, SESSION, "v".into());
        assert_eq!(c.name(), "__Host-mg_session");
        assert_eq!(c.secure(), Some(true));
        assert_eq!(c.http_only(), Some(true));
        assert_eq!(c.same_site(), Some(SameSite::Lax));
        assert_eq!(c.path(), Some("/"));
        assert!(c.domain().is_none(), "__Host- cookies carry no Domain");
        let plain = build(&ServerSettings::default(), SESSION, "v".into());
        assert_eq!(plain.name(), "mg_session");
        assert_ne!(plain.secure(), Some(true));
    }
}
