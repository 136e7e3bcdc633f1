//! The audit log: who did what, when, from where. Written by services, never by handlers.

use crate::store::StoreResult;
use std::net::IpAddr;

use crate::clock::UnixTime;
use crate::ids::{OrgId, UserId};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditKind {
    SignInSucceeded,
    SignInFailed,
    AccountLocked,
    SignedOut,
    UserCreated,
    UserDisabled,
    UserEnabled,
    UserDeleted,
    MemberRemoved,
    PasskeyRegistered,
    PasskeyRenamed,
    PasskeyRemoved,
    PasskeySignInSucceeded,
    PasskeySignInFailed,
    /// A passkey's signature counter did not advance (WebAuthn L2 §7.2): possibly a clone.
    PasskeyCounterAnomaly,
    /// An organisation's requirement of a second factor was set (detail: `true`/`false`).
    OrgRequireMfaSet,
    /// A TOTP enrolment was confirmed with a code (recovery codes were given).
    TotpEnrolled,
    /// TOTP was turned off (its recovery codes went with it).
    TotpRemoved,
    /// A TOTP code was accepted at sign-in.
    TotpAccepted,
    /// A TOTP or recovery code was refused at sign-in (wrong, replayed or malformed).
    TotpRefused,
    /// A recovery code was used at sign-in.
    RecoveryCodeUsed,
    /// A new set of recovery codes replaced the old one.
    RecoveryCodesRegenerated,
    /// A sign-in through an SSO connection succeeded (detail: the connection).
    SsoSignIn,
    /// A first SSO sign-in created the user in the connection's organisation (JIT).
    SsoUserCreated,
    /// An SSO identity was linked to an existing member of the organisation.
    SsoUserLinked,
    /// An SSO sign-in was refused (detail: the connection and why).
    SsoRefused,
    /// A session's active organisation was chosen or switched (issue #11).
    SessionOrgSwitched,
    MemberAdded,
    MemberRoleChanged,
    GroupCreated,
    GroupMemberAdded,
    /// An SSO connection was added, disabled, enabled or deleted (subject: its id).
    SsoConnectionAdded,
    SsoConnectionDisabled,
    SsoConnectionEnabled,
    SsoConnectionDeleted,
    /// An organisation claimed an e-mail domain (pending until verified).
    OrgDomainClaimed,
    /// A claimed domain was verified (detail: `dns` or `operator`).
    OrgDomainVerified,
    /// A domain verification was refused (detail: why).
    OrgDomainRefused,
    /// An organisation's requirement of SSO was set (detail: `true`/`false`).
    OrgRequireSsoSet,
    /// A password sign-in was refused: an organisation of the user requires SSO.
    SignInSsoRequired,
    /// An owner of an organisation that requires SSO signed in with a password.
    SignInBreakGlass,
    /// mintgate as SAML IdP answered an AuthnRequest (subject: the app's entity ID).
    SamlSso,
    /// An AuthnRequest was refused (subject: the issuer or app; detail: why).
    SamlRefused,
    /// SCIM (issue #13): a token created or revoked; a SCIM client created, changed or
    /// deleted a user or group (detail: the token's id).
    ScimTokenCreated,
    ScimTokenRevoked,
    ScimUserCreated,
    ScimUserUpdated,
    ScimUserDeleted,
    ScimGroupCreated,
    ScimGroupUpdated,
    ScimGroupDeleted,
    /// Organisation console, OAuth applications and groups (issue #14): an administrator
    /// registered, edited, rotated the secret of, or deleted one of the organisation's OAuth
    /// clients; renamed or deleted a group made by hand, or took a member out of one (its
    /// creation and new members are `group.created` and `group.member_added`).
    OAuthClientCreated,
    OAuthClientUpdated,
    OAuthClientSecretRotated,
    OAuthClientDeleted,
    GroupRenamed,
    GroupDeleted,
    GroupMemberRemoved,
    // Audit log and policies (issue #14, builder "audit").
    /// An organisation's policies changed on the Policies page or with `org set` (detail:
    /// each changed field, `old→new`).
    OrgPolicySet,
    /// An administrator exported the organisation's audit log (detail: the filter).
    AuditExported,
    // Account self-service (issue #14).
    PasswordChanged,
    PasswordResetRequested,
    PasswordReset,
    SessionRevoked,
    OtherSessionsRevoked,
    ProfileUpdated,
    EmailChangeRequested,
    EmailVerifyRequested,
    EmailChanged,
    EmailVerified,
    // Organisation console, members and invitations (issue #14).
    /// An administrator removed a member's second factors (subject: the member; the actor is
    /// the event's user).
    MfaReset,
    /// An invitation was sent (subject: the address; detail: the role).
    InvitationCreated,
    /// A pending invitation was revoked.
    InvitationRevoked,
}

impl AuditKind {
    /// Every kind, for the audit log's filter (issue #14). Append new kinds here too; the
    /// test `all_lists_every_kind` counts the `as_str` arms.
    pub const ALL: &'static [AuditKind] = &[
        AuditKind::SignInSucceeded,
        AuditKind::SignInFailed,
        AuditKind::AccountLocked,
        AuditKind::SignedOut,
        AuditKind::UserCreated,
        AuditKind::UserDisabled,
        AuditKind::UserEnabled,
        AuditKind::UserDeleted,
        AuditKind::MemberRemoved,
        AuditKind::PasskeyRegistered,
        AuditKind::PasskeyRenamed,
        AuditKind::PasskeyRemoved,
        AuditKind::PasskeySignInSucceeded,
        AuditKind::PasskeySignInFailed,
        AuditKind::PasskeyCounterAnomaly,
        AuditKind::OrgRequireMfaSet,
        AuditKind::TotpEnrolled,
        AuditKind::TotpRemoved,
        AuditKind::TotpAccepted,
        AuditKind::TotpRefused,
        AuditKind::RecoveryCodeUsed,
        AuditKind::RecoveryCodesRegenerated,
        AuditKind::SsoSignIn,
        AuditKind::SsoUserCreated,
        AuditKind::SsoUserLinked,
        AuditKind::SsoRefused,
        AuditKind::SessionOrgSwitched,
        AuditKind::MemberAdded,
        AuditKind::MemberRoleChanged,
        AuditKind::GroupCreated,
        AuditKind::GroupMemberAdded,
        AuditKind::SsoConnectionAdded,
        AuditKind::SsoConnectionDisabled,
        AuditKind::SsoConnectionEnabled,
        AuditKind::SsoConnectionDeleted,
        AuditKind::OrgDomainClaimed,
        AuditKind::OrgDomainVerified,
        AuditKind::OrgDomainRefused,
        AuditKind::OrgRequireSsoSet,
        AuditKind::SignInSsoRequired,
        AuditKind::SignInBreakGlass,
        AuditKind::SamlSso,
        AuditKind::SamlRefused,
        AuditKind::ScimTokenCreated,
        AuditKind::ScimTokenRevoked,
        AuditKind::ScimUserCreated,
        AuditKind::ScimUserUpdated,
        AuditKind::ScimUserDeleted,
        AuditKind::ScimGroupCreated,
        AuditKind::ScimGroupUpdated,
        AuditKind::ScimGroupDeleted,
        AuditKind::OAuthClientCreated,
        AuditKind::OAuthClientUpdated,
        AuditKind::OAuthClientSecretRotated,
        AuditKind::OAuthClientDeleted,
        AuditKind::GroupRenamed,
        AuditKind::GroupDeleted,
        AuditKind::GroupMemberRemoved,
        AuditKind::OrgPolicySet,
        AuditKind::AuditExported,
        AuditKind::PasswordChanged,
        AuditKind::PasswordResetRequested,
        AuditKind::PasswordReset,
        AuditKind::SessionRevoked,
        AuditKind::OtherSessionsRevoked,
        AuditKind::ProfileUpdated,
        AuditKind::EmailChangeRequested,
        AuditKind::EmailVerifyRequested,
        AuditKind::EmailChanged,
        AuditKind::EmailVerified,
        AuditKind::MfaReset,
        AuditKind::InvitationCreated,
        AuditKind::InvitationRevoked,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AuditKind::SignInSucceeded => "sign_in.succeeded",
            AuditKind::SignInFailed => "sign_in.failed",
            AuditKind::AccountLocked => "sign_in.locked",
            AuditKind::SignedOut => "sign_out",
            AuditKind::UserCreated => "user.created",
            AuditKind::UserDisabled => "user.disabled",
            AuditKind::UserEnabled => "user.enabled",
            AuditKind::UserDeleted => "user.deleted",
            AuditKind::MemberRemoved => "membership.removed",
            AuditKind::PasskeyRegistered => "passkey.registered",
            AuditKind::PasskeyRenamed => "passkey.renamed",
            AuditKind::PasskeyRemoved => "passkey.removed",
            AuditKind::PasskeySignInSucceeded => "passkey.succeeded",
            AuditKind::PasskeySignInFailed => "passkey.failed",
            AuditKind::PasskeyCounterAnomaly => "passkey.counter_anomaly",
            AuditKind::OrgRequireMfaSet => "org.require_mfa.set",
            AuditKind::TotpEnrolled => "mfa.totp.enrolled",
            AuditKind::TotpRemoved => "mfa.totp.removed",
            AuditKind::TotpAccepted => "mfa.totp.accepted",
            AuditKind::TotpRefused => "mfa.totp.refused",
            AuditKind::RecoveryCodeUsed => "mfa.recovery_code.used",
            AuditKind::RecoveryCodesRegenerated => "mfa.recovery_codes.regenerated",
            AuditKind::SsoSignIn => "sso.signin",
            AuditKind::SsoUserCreated => "sso.user.created",
            AuditKind::SsoUserLinked => "sso.user.linked",
            AuditKind::SsoRefused => "sso.refused",
            AuditKind::SessionOrgSwitched => "session.org.switched",
            AuditKind::MemberAdded => "membership.added",
            AuditKind::MemberRoleChanged => "membership.role_changed",
            AuditKind::GroupCreated => "group.created",
            AuditKind::GroupMemberAdded => "group.member_added",
            AuditKind::SsoConnectionAdded => "sso.connection.added",
            AuditKind::SsoConnectionDisabled => "sso.connection.disabled",
            AuditKind::SsoConnectionEnabled => "sso.connection.enabled",
            AuditKind::SsoConnectionDeleted => "sso.connection.deleted",
            AuditKind::OrgDomainClaimed => "org.domain.claimed",
            AuditKind::OrgDomainVerified => "org.domain.verified",
            AuditKind::OrgDomainRefused => "org.domain.refused",
            AuditKind::OrgRequireSsoSet => "org.require_sso.set",
            AuditKind::SignInSsoRequired => "signin.sso_required",
            AuditKind::SignInBreakGlass => "signin.break_glass",
            AuditKind::SamlSso => "saml.sso",
            AuditKind::SamlRefused => "saml.refused",
            AuditKind::ScimTokenCreated => "scim.token.created",
            AuditKind::ScimTokenRevoked => "scim.token.revoked",
            AuditKind::ScimUserCreated => "scim.user.created",
            AuditKind::ScimUserUpdated => "scim.user.updated",
            AuditKind::ScimUserDeleted => "scim.user.deleted",
            AuditKind::ScimGroupCreated => "scim.group.created",
            AuditKind::ScimGroupUpdated => "scim.group.updated",
            AuditKind::ScimGroupDeleted => "scim.group.deleted",
            AuditKind::OAuthClientCreated => "oauth.client.created",
            AuditKind::OAuthClientUpdated => "oauth.client.updated",
            AuditKind::OAuthClientSecretRotated => "oauth.client.secret_rotated",
            AuditKind::OAuthClientDeleted => "oauth.client.deleted",
            AuditKind::GroupRenamed => "group.renamed",
            AuditKind::GroupDeleted => "group.deleted",
            AuditKind::GroupMemberRemoved => "group.member_removed",
            // Audit log and policies (issue #14, builder "audit").
            AuditKind::OrgPolicySet => "org.policy.set",
            AuditKind::AuditExported => "audit.exported",
            // Account self-service (issue #14).
            AuditKind::PasswordChanged => "password.changed",
            AuditKind::PasswordResetRequested => "password.reset_requested",
            AuditKind::PasswordReset => "password.reset",
            AuditKind::SessionRevoked => "session.revoked",
            AuditKind::OtherSessionsRevoked => "session.revoked_others",
            AuditKind::ProfileUpdated => "profile.updated",
            AuditKind::EmailChangeRequested => "email.change_requested",
            AuditKind::EmailVerifyRequested => "email.verify_requested",
            AuditKind::EmailChanged => "email.changed",
            AuditKind::EmailVerified => "email.verified",
            // Organisation console, members and invitations (issue #14).
            AuditKind::MfaReset => "mfa.reset",
            AuditKind::InvitationCreated => "invitation.created",
            AuditKind::InvitationRevoked => "invitation.revoked",
        }
    }
}

/// Where a request came from, carried into the audit log.
#[derive(Debug, Clone, Default)]
pub struct RequestMeta {
    pub ip: Option<IpAddr>,
    pub user_agent: Option<String>,
    /// The organisation a user's own action happens in (the session's active one), set by
    /// the handler with [`RequestMeta::acting_in`]: events built from this meta belong to it
    /// unless [`AuditEvent::org`] names the organisation acted on.
    pub org: Option<OrgId>,
}

impl RequestMeta {
    /// This request's meta for a user acting in `org` (the session's active organisation).
    pub fn acting_in(mut self, org: Option<&OrgId>) -> Self {
        self.org = org.cloned();
        self
    }
}

#[derive(Debug, Clone)]
pub struct AuditEvent {
    pub at: UnixTime,
    pub kind: String,
    pub user_id: Option<UserId>,
    /// What the actor typed or targeted (an attempted username), never a secret.
    pub subject: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub detail: Option<String>,
    /// The organisation the event belongs to (issue #14), see [`AuditEvent::org`]; its audit
    /// log shows only its own events.
    pub org_id: Option<OrgId>,
}

impl AuditEvent {
    pub fn new(at: UnixTime, kind: AuditKind, meta: &RequestMeta) -> Self {
        Self {
            at,
            kind: kind.as_str().to_owned(),
            user_id: None,
            subject: None,
            ip: meta.ip.map(|ip| ip.to_string()),
            user_agent: meta
                .user_agent
                .as_ref()
                .map(|ua| ua.chars().take(512).collect()),
            detail: None,
            org_id: meta.org.clone(),
        }
    }

    /// The organisation whose audit log shows this event. One rule: the organisation acted on
    /// when there is one (its members, groups, SSO connections, domains, SCIM tokens and
    /// clients, SAML apps, policies, API keys); otherwise, for a user's own action, the
    /// organisation the session or grant acts in (a sign-out, an SSO sign-in through its
    /// connection, a switch into it). Events with none (a failed sign-in of an unknown user,
    /// server accounts created by the operator, a server-wide disable) stay in the server's
    /// log only, which no organisation's administrator reads.
    pub fn org(mut self, org_id: &OrgId) -> Self {
        self.org_id = Some(org_id.clone());
        self
    }

    /// [`AuditEvent::org`] when an organisation is known.
    pub fn in_org(mut self, org_id: Option<&OrgId>) -> Self {
        if let Some(org_id) = org_id {
            self.org_id = Some(org_id.clone());
        }
        self
    }

    pub fn user(mut self, user_id: &UserId) -> Self {
        self.user_id = Some(user_id.clone());
        self
    }

    pub fn subject(mut self, subject: &str) -> Self {
        self.subject = Some(subject.chars().take(256).collect());
        self
    }

    pub fn detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }
}

pub trait AuditStore {
    fn record_event(&self, event: &AuditEvent) -> StoreResult<()>;
    /// Newest first.
    fn recent_events(&self, limit: i64) -> StoreResult<Vec<AuditEvent>>;
}

#[cfg(test)]
mod tests {
    use super::AuditKind;

    /// `ALL` holds every kind once: as many entries as `as_str` has arms.
    #[test]
    fn all_lists_every_kind() {
        let source = include_str!("audit.rs");
        let arms = source.matches(&format!("{}{}", "=>", " \"")).count();
        let mut names: Vec<&str> = AuditKind::ALL.iter().map(|k| k.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), AuditKind::ALL.len(), "no kind twice");
        assert_eq!(AuditKind::ALL.len(), arms, "every kind in AuditKind::ALL");
    }
}
