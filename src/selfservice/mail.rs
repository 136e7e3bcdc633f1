//! The messages of this area (`templates/email/`): a plain-text and an HTML body each.

use askama::Template;

use crate::mail::Mail;

/// The link of a message: the server's public base (the issuer) and a path of this server
/// with the link's secret as `?token=`.
pub fn link_url(base: &str, path: &str, token: &str) -> String {
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("token", token)
        .finish();
    format!("{}{path}?{query}", base.trim_end_matches('/'))
}

/// What every message of this area says: to whom, about which account, and a link.
pub struct LinkMessage<'a> {
    pub username: &'a str,
    pub url: &'a str,
    /// "30 minutes", "24 hours".
    pub valid_for: &'a str,
    /// The address concerned (for an e-mail change: the new one).
    pub email: &'a str,
}

#[derive(Template)]
#[template(path = "email/password_reset.txt")]
struct ResetText<'a> {
    m: &'a LinkMessage<'a>,
}

#[derive(Template)]
#[template(path = "email/password_reset.html")]
struct ResetHtml<'a> {
    m: &'a LinkMessage<'a>,
}

#[derive(Template)]
#[template(path = "email/email_change.txt")]
struct ChangeText<'a> {
    m: &'a LinkMessage<'a>,
}

#[derive(Template)]
#[template(path = "email/email_change.html")]
struct ChangeHtml<'a> {
    m: &'a LinkMessage<'a>,
}

#[derive(Template)]
#[template(path = "email/verify.txt")]
struct VerifyText<'a> {
    m: &'a LinkMessage<'a>,
}

#[derive(Template)]
#[template(path = "email/verify.html")]
struct VerifyHtml<'a> {
    m: &'a LinkMessage<'a>,
}

#[derive(Template)]
#[template(path = "email/email_changed_notice.txt")]
struct NoticeText<'a> {
    m: &'a LinkMessage<'a>,
}

#[derive(Template)]
#[template(path = "email/email_changed_notice.html")]
struct NoticeHtml<'a> {
    m: &'a LinkMessage<'a>,
}

fn mail(to: &str, subject: &str, text: String, html: String) -> Mail {
    Mail {
        to: to.to_owned(),
        subject: subject.to_owned(),
        text,
        html,
    }
}

/// A password-reset link, to the account's address.
pub fn password_reset(to: &str, m: &LinkMessage<'_>) -> Result<Mail, askama::Error> {
    Ok(mail(
        to,
        "Reset your password",
        ResetText { m }.render()?,
        ResetHtml { m }.render()?,
    ))
}

/// A link confirming a new address, to that new address.
pub fn email_change(to: &str, m: &LinkMessage<'_>) -> Result<Mail, askama::Error> {
    Ok(mail(
        to,
        "Confirm your new e-mail address",
        ChangeText { m }.render()?,
        ChangeHtml { m }.render()?,
    ))
}

/// A link proving the account's current address.
pub fn verify(to: &str, m: &LinkMessage<'_>) -> Result<Mail, askama::Error> {
    Ok(mail(
        to,
        "Verify your e-mail address",
        VerifyText { m }.render()?,
        VerifyHtml { m }.render()?,
    ))
}

/// The notice to the previous address once a change was confirmed (no link).
pub fn email_changed_notice(to: &str, m: &LinkMessage<'_>) -> Result<Mail, askama::Error> {
    Ok(mail(
        to,
        "Your e-mail address was changed",
        NoticeText { m }.render()?,
        NoticeHtml { m }.render()?,
    ))
}
