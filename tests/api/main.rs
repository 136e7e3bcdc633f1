//! The integration suite: one binary, one module per area. Every storage test runs on SQLite
//! and, with `MINTGATE_TEST_POSTGRES_URL`, on PostgreSQL (`both!`).

mod helpers;

mod apikeys;
mod browser;
mod browser_sso;
mod cli;
mod deprovision;
mod device;
mod hardening_oauth;
mod hardening_ops;
mod health;
mod instances;
mod key_management;
mod login;
mod mfa_passkeys;
mod mfa_passkeys_attacks;
mod mfa_passkeys_reauth;
mod mfa_policy;
mod mfa_support;
mod mfa_totp;
mod namespaces;
mod nul_bytes;
mod oauth_race;
mod oauth_rules;
mod oauth_support;
mod oidc_rp;
mod outage;
mod pages;
mod security;
mod sessions;
mod signin_flow;
mod sso_connections;
mod sso_domains;
mod sso_idp_support;
mod sso_oidc;
mod sso_oidc_hostile;
mod sso_oidc_rules;
mod sso_support;
mod store;
mod template;
mod tenancy;
mod tenancy_cli;
mod throttle_rules;
mod token_hardening;
mod userinfo;
