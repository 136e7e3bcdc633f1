//! `grant_type=urn:ietf:params:oauth:grant-type:device_code` (RFC 8628 §3.4).

use super::{TokenRequest, required_credential};
use crate::ids::GrantId;
use crate::oauth::device;
use crate::oauth::error::OAuthError;
use crate::oauth::resources;
use crate::oauth::store::OAuthStore;
use crate::oauth::tokens::{Ctx, Extras, TokenResponse, issues_refresh};
use crate::oauth::types::{Client, Grant};

pub fn exchange<S: OAuthStore>(
    ctx: &Ctx<'_, S>,
    client: &Client,
    req: &TokenRequest,
) -> Result<TokenResponse, OAuthError> {
    let device_code = required_credential(&req.device_code, "device_code")?;
    let now = ctx.now();
    let resources = resources::for_new_grant(
        client,
        &ctx.default_audience(),
        req.resource.as_deref().filter(|r| !r.is_empty()),
    )?;
    let code = device::poll(ctx.store, client, device_code, now)?;
    let user_id = code.user_id.clone().ok_or_else(OAuthError::server_error)?;
    let user = ctx
        .store
        .find_user(&user_id)?
        .filter(|u| !u.disabled)
        .ok_or_else(|| OAuthError::invalid_grant("the user is no longer active"))?;
    let scope = code.granted_scope.clone().unwrap_or_default();
    let grant = Grant {
        id: GrantId::generate(),
        client_id: client.id.clone(),
        user_id: Some(user.id.clone()),
        sid: None,
        scope: scope.clone(),
        auth_time: code.auth_time.unwrap_or(now),
        amr: code.amr.clone(),
        created_at: now,
        last_used_at: now,
        expires_at: now
            + if device::is_offline(&scope) {
                client.refresh_absolute_ttl
            } else {
                client.access_token_ttl
            },
        revoked_at: None,
        resources,
        org_id: code.org_id.clone(),
    };
    // The grant made here must meet the liveness rule every use of a grant applies, read now:
    // an approval at a password-only sign-in issues nothing once an organisation of the user
    // requires a second factor (turned on between the approval and this poll).
    super::ensure_live_or_end(ctx, &grant)?;
    ctx.store.create_grant(&grant)?;
    let with_refresh = issues_refresh(client, &scope);
    ctx.for_grant(
        client,
        &user,
        &grant,
        &scope,
        Extras {
            nonce: None,
            resource: None,
            with_refresh,
        },
    )
}
