//! Cookie names and attributes: HttpOnly, SameSite=Lax, Path=/; on an https issuer also
//! Secure and the `__Host-` prefix (no Domain, so no subdomain can set or read them).

use actix_web::cookie::{Cookie, SameSite, time::Duration as CookieDuration};

use crate::config::Settings;

pub const SESSION: &str = "mg_session";
pub const CSRF: &str = "mg_csrf";

pub fn name(settings: &Settings, base: &str) -> String {
    if settings.is_https() {
        format!("__Host-{base}")
    } else {
        base.to_owned()
    }
}

pub fn build(settings: &Settings, base: &str, value: String) -> Cookie<'static> {
    Cookie::build(name(settings, base), value)
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(settings.is_https())
        .finish()
}

pub fn removal(settings: &Settings, base: &str) -> Cookie<'static> {
    let mut c = build(settings, base, String::new());
    c.set_max_age(CookieDuration::ZERO);
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_issuer_gets_secure_host_prefixed_cookies() {
        let https = Settings {
            issuer: "https://id.example".parse().unwrap(),
            ..Settings::default()
        };
        let c = build(&https, SESSION, "v".into());
        assert_eq!(c.name(), "__Host-mg_session");
        assert_eq!(c.secure(), Some(true));
        assert_eq!(c.http_only(), Some(true));
        assert_eq!(c.same_site(), Some(SameSite::Lax));
        assert_eq!(c.path(), Some("/"));
        assert!(c.domain().is_none(), "__Host- cookies carry no Domain");
        let plain = build(&Settings::default(), SESSION, "v".into());
        assert_eq!(plain.name(), "mg_session");
        assert_ne!(plain.secure(), Some(true));
    }
}
