//! Full flows driven by an independent relying-party library: the `openidconnect` crate.

use mintgate::oauth::types::TokenFormat;
use mintgate::signing::SigningAlg;
use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreJwsSigningAlgorithm, CoreProviderMetadata,
    CoreUserInfoClaims,
};
use openidconnect::{
    AccessTokenHash, AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce,
    OAuth2TokenResponse, PkceCodeChallenge, RedirectUrl, RefreshToken, Scope, TokenResponse,
};

use crate::both;
use crate::helpers::*;
use crate::oauth_support::*;

fn http() -> openidconnect::reqwest::Client {
    openidconnect::reqwest::ClientBuilder::new()
        .redirect(openidconnect::reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

async fn rp_flow(app: &TestApp, client: &TestClient, alg: CoreJwsSigningAlgorithm) {
    let http = http();
    let provider =
        CoreProviderMetadata::discover_async(IssuerUrl::new(app.address.clone()).unwrap(), &http)
            .await
            .expect("discovery parses");
    let rp = CoreClient::from_provider_metadata(
        provider,
        ClientId::new(client.id.clone()),
        client.secret.clone().map(ClientSecret::new),
    )
    .set_redirect_uri(RedirectUrl::new(REDIRECT.into()).unwrap());
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, state, nonce) = rp
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("profile".into()))
        .add_scope(Scope::new("email".into()))
        .add_scope(Scope::new("offline_access".into()))
        .set_pkce_challenge(challenge)
        .url();

    let browser = new_client();
    assert_eq!(
        app.post_login_with(&browser, ADMIN_USERNAME, ADMIN_PASSWORD, None)
            .await
            .status(),
        303
    );
    let back = authorize_with(app, &browser, url.as_str()).await;
    let q = query_of(&back);
    assert_eq!(q["state"], *state.secret());
    assert_eq!(q["iss"], app.address, "RFC 9207 iss");

    let tokens = rp
        .exchange_code(AuthorizationCode::new(q["code"].clone()))
        .unwrap()
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await
        .expect("code exchange");
    let id_token = tokens.id_token().expect("an ID token");
    let id_verifier = rp.id_token_verifier().set_allowed_algs(vec![alg.clone()]);
    let claims = id_token
        .claims(&id_verifier, &nonce)
        .expect("ID token signature and claims verify against the JWKS");
    assert_eq!(id_token.signing_alg().unwrap(), &alg);
    let expected_hash = AccessTokenHash::from_token(
        tokens.access_token(),
        id_token.signing_alg().unwrap(),
        id_token.signing_key(&id_verifier).unwrap(),
    )
    .unwrap();
    assert_eq!(claims.access_token_hash(), Some(&expected_hash), "at_hash");
    assert!(claims.auth_time().is_some());
    assert_eq!(
        claims.preferred_username().unwrap().as_str(),
        ADMIN_USERNAME
    );

    let info: CoreUserInfoClaims = rp
        .user_info(
            tokens.access_token().clone(),
            Some(claims.subject().clone()),
        )
        .unwrap()
        .request_async(&http)
        .await
        .expect("userinfo");
    assert_eq!(info.email().unwrap().as_str(), "admin@localhost");
    assert_eq!(info.preferred_username().unwrap().as_str(), ADMIN_USERNAME);

    // offline_access was granted with consent: a refresh token, rotated on use.
    let refresh = tokens.refresh_token().expect("a refresh token").clone();
    let refreshed = rp
        .exchange_refresh_token(&refresh)
        .unwrap()
        .request_async(&http)
        .await
        .expect("refresh");
    assert_ne!(
        refreshed.refresh_token().unwrap().secret(),
        refresh.secret(),
        "rotated"
    );
    let again = rp
        .exchange_refresh_token(&RefreshToken::new(refresh.secret().clone()))
        .unwrap()
        .request_async(&http)
        .await;
    assert!(again.is_err(), "the rotated refresh token no longer works");
}

async fn confidential_client_full_flow(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let client = register(&app, client_spec("Confidential RP")).await;
    rp_flow(&app, &client, CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256).await;
}

async fn public_client_full_flow(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let mut spec = client_spec("Native app");
    spec.public = true;
    spec.id_token_alg = SigningAlg::Es256;
    let client = register(&app, spec).await;
    assert!(client.secret.is_none());
    rp_flow(&app, &client, CoreJwsSigningAlgorithm::EcdsaP256Sha256).await;
}

async fn eddsa_id_tokens_and_jwt_access_tokens(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let mut spec = client_spec("JWT RP");
    spec.id_token_alg = SigningAlg::EdDsa;
    spec.access_token_format = TokenFormat::Jwt;
    let client = register(&app, spec).await;
    rp_flow(&app, &client, CoreJwsSigningAlgorithm::EdDsa).await;
}

async fn client_credentials_with_the_rp_library(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let mut spec = client_spec("Backend service");
    spec.redirect_uris = vec![];
    spec.grant_types = vec!["client_credentials".into()];
    spec.scopes = Some("read:evaluations write:evaluations".into());
    let client = register(&app, spec).await;
    let http = http();
    let provider =
        CoreProviderMetadata::discover_async(IssuerUrl::new(app.address.clone()).unwrap(), &http)
            .await
            .unwrap();
    let rp = CoreClient::from_provider_metadata(
        provider,
        ClientId::new(client.id.clone()),
        client.secret.clone().map(ClientSecret::new),
    );
    let tokens = rp
        .exchange_client_credentials()
        .unwrap()
        .add_scope(Scope::new("read:evaluations".into()))
        .request_async(&http)
        .await
        .expect("client_credentials");
    assert!(tokens.access_token().secret().starts_with("mg_token_"));
    assert!(
        tokens.refresh_token().is_none(),
        "never a refresh token (RFC 6749 §4.4.3)"
    );
    let info = introspect(&app, &client, tokens.access_token().secret()).await;
    assert_eq!(info["active"], true);
    assert_eq!(info["scope"], "read:evaluations");
    assert_eq!(info["client_id"], client.id);
}

both!(
    confidential_client_full_flow,
    public_client_full_flow,
    eddsa_id_tokens_and_jwt_access_tokens,
    client_credentials_with_the_rp_library,
);
