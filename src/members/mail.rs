//! The invitation message (templates/email/invitation.{txt,html}).

use askama::Template;

use super::store::Invitation;
use crate::accounts::types::Organisation;
use crate::clock::rfc3339;
use crate::mail::Mail;

/// One message's fields, rendered as text and as HTML.
struct Fields<'a> {
    org: &'a str,
    inviter: &'a str,
    role: &'a str,
    link: &'a str,
    expires: String,
}

#[derive(Template)]
#[template(path = "email/invitation.txt")]
struct InvitationText<'a> {
    m: &'a Fields<'a>,
}

#[derive(Template)]
#[template(path = "email/invitation.html")]
struct InvitationHtml<'a> {
    m: &'a Fields<'a>,
}

/// The mail sent to an invited address, with its link (absolute: the issuer and the path).
pub fn invitation_mail(
    org: &Organisation,
    inviter: &str,
    invitation: &Invitation,
    link: &str,
) -> Mail {
    let fields = Fields {
        org: &org.name,
        inviter,
        role: invitation.role.as_str(),
        link,
        expires: rfc3339(invitation.expires_at),
    };
    let text = InvitationText { m: &fields }
        .render()
        .unwrap_or_else(|_| format!("You are invited to join {}: {link}", org.name));
    let html = InvitationHtml { m: &fields }.render().unwrap_or_default();
    Mail {
        to: invitation.email.clone(),
        subject: format!("You are invited to join {} on mintgate", org.name),
        text,
        html,
    }
}
