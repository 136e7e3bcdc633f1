//! Diesel table definitions, written to match `migrations/{sqlite,postgres}` exactly.
//! Only types the `MultiConnection` supports are used: ids and JSON as `Text`, times as `BigInt`.

diesel::table! {
    organisations (id) {
        id -> Text,
        name -> Text,
        name_key -> Text,
        created_at -> BigInt,
        api_key_max_lifetime -> Nullable<BigInt>,
        api_key_legacy_query -> Bool,
        require_mfa -> Bool,
        require_sso -> Bool,
        session_idle_timeout -> Nullable<BigInt>,
        session_absolute_timeout -> Nullable<BigInt>,
    }
}

diesel::table! {
    users (id) {
        id -> Text,
        username -> Text,
        username_key -> Text,
        email -> Text,
        email_key -> Text,
        display_name -> Text,
        password_hash -> Nullable<Text>,
        disabled -> Bool,
        created_at -> BigInt,
        updated_at -> BigInt,
        home_org -> Nullable<Text>,
        email_verified -> Bool,
    }
}

diesel::table! {
    memberships (org_id, user_id) {
        org_id -> Text,
        user_id -> Text,
        role -> Text,
        created_at -> BigInt,
    }
}

diesel::table! {
    groups (id) {
        id -> Text,
        org_id -> Text,
        name -> Text,
        name_key -> Text,
        created_at -> BigInt,
        managed_by -> Nullable<Text>,
    }
}

diesel::table! {
    group_members (group_id, user_id) {
        group_id -> Text,
        user_id -> Text,
    }
}

diesel::table! {
    sessions (id_hash) {
        id_hash -> Text,
        sid -> Text,
        user_id -> Text,
        created_at -> BigInt,
        last_seen_at -> BigInt,
        expires_at -> BigInt,
        auth_time -> BigInt,
        amr -> Text,
        ip -> Nullable<Text>,
        user_agent -> Nullable<Text>,
        org_id -> Nullable<Text>,
    }
}

diesel::table! {
    audit_events (id) {
        id -> BigInt,
        at -> BigInt,
        kind -> Text,
        user_id -> Nullable<Text>,
        subject -> Nullable<Text>,
        ip -> Nullable<Text>,
        user_agent -> Nullable<Text>,
        detail -> Nullable<Text>,
        org_id -> Nullable<Text>,
    }
}

diesel::table! {
    login_throttle (key) {
        key -> Text,
        failures -> Integer,
        last_failure_at -> BigInt,
        locked_until -> BigInt,
    }
}

diesel::table! {
    meta (key) {
        key -> Text,
        value -> Text,
    }
}

diesel::table! {
    oauth_clients (id) {
        id -> Text,
        name -> Text,
        secret_hash -> Nullable<Text>,
        redirect_uris -> Text,
        post_logout_redirect_uris -> Text,
        grant_types -> Text,
        scopes -> Text,
        skip_consent -> Bool,
        access_token_format -> Text,
        access_token_ttl -> BigInt,
        refresh_idle_ttl -> BigInt,
        refresh_absolute_ttl -> BigInt,
        always_issue_refresh -> Bool,
        id_token_alg -> Text,
        created_at -> BigInt,
        resources -> Text,
        org_id -> Nullable<Text>,
    }
}

diesel::table! {
    oauth_consents (user_id, client_id) {
        user_id -> Text,
        client_id -> Text,
        scope -> Text,
        created_at -> BigInt,
    }
}

diesel::table! {
    oauth_grants (id) {
        id -> Text,
        client_id -> Text,
        user_id -> Nullable<Text>,
        sid -> Nullable<Text>,
        scope -> Text,
        auth_time -> BigInt,
        amr -> Text,
        created_at -> BigInt,
        last_used_at -> BigInt,
        expires_at -> BigInt,
        revoked_at -> Nullable<BigInt>,
        resources -> Text,
        org_id -> Nullable<Text>,
    }
}

diesel::table! {
    oauth_codes (code_hash) {
        code_hash -> Text,
        grant_id -> Text,
        client_id -> Text,
        redirect_uri -> Text,
        scope -> Text,
        nonce -> Nullable<Text>,
        code_challenge -> Nullable<Text>,
        resource -> Nullable<Text>,
        expires_at -> BigInt,
        used_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    oauth_access_tokens (token_hash) {
        token_hash -> Text,
        grant_id -> Nullable<Text>,
        client_id -> Text,
        user_id -> Nullable<Text>,
        scope -> Text,
        audience -> Nullable<Text>,
        created_at -> BigInt,
        expires_at -> BigInt,
    }
}

diesel::table! {
    oauth_refresh_tokens (token_hash) {
        token_hash -> Text,
        grant_id -> Text,
        created_at -> BigInt,
        used_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    signing_keys (kid) {
        kid -> Text,
        alg -> Text,
        private_key -> Text,
        public_jwk -> Text,
        created_at -> BigInt,
        active_from -> BigInt,
        retired_at -> Nullable<BigInt>,
        published_until -> Nullable<BigInt>,
    }
}

diesel::table! {
    applications (id) {
        id -> BigInt,
        org_id -> Text,
        name -> Text,
        scope -> Text,
        created_by -> Nullable<Text>,
        created_at -> BigInt,
    }
}

diesel::table! {
    api_keys (id) {
        id -> Text,
        org_id -> Text,
        created_by -> Nullable<Text>,
        application_id -> Nullable<BigInt>,
        name -> Text,
        hint -> Text,
        scopes -> Text,
        allowed_ips -> Text,
        created_at -> BigInt,
        expires_at -> Nullable<BigInt>,
        last_used_at -> Nullable<BigInt>,
        revoked_at -> Nullable<BigInt>,
        org_owned -> Bool,
    }
}

diesel::table! {
    api_key_secrets (secret_hash) {
        secret_hash -> Text,
        key_id -> Text,
        created_at -> BigInt,
        valid_until -> Nullable<BigInt>,
    }
}

diesel::table! {
    device_codes (device_code_hash) {
        device_code_hash -> Text,
        user_code -> Text,
        client_id -> Text,
        scope -> Text,
        created_at -> BigInt,
        expires_at -> BigInt,
        poll_interval -> BigInt,
        last_polled_at -> Nullable<BigInt>,
        status -> Text,
        user_id -> Nullable<Text>,
        granted_scope -> Nullable<Text>,
        auth_time -> Nullable<BigInt>,
        amr -> Nullable<Text>,
        client_addr -> Nullable<Text>,
        org_id -> Nullable<Text>,
    }
}

diesel::table! {
    email_links (id_hash) {
        id_hash -> Text,
        kind -> Text,
        user_id -> Nullable<Text>,
        org_id -> Nullable<Text>,
        email -> Text,
        role -> Nullable<Text>,
        created_by -> Nullable<Text>,
        created_at -> BigInt,
        expires_at -> BigInt,
        used_at -> Nullable<BigInt>,
    }
}

diesel::joinable!(memberships -> organisations (org_id));
diesel::joinable!(memberships -> users (user_id));
diesel::joinable!(groups -> organisations (org_id));
diesel::joinable!(group_members -> groups (group_id));
diesel::joinable!(group_members -> users (user_id));
diesel::table! {
    signin_flows (id_hash) {
        id_hash -> Text,
        user_id -> Nullable<Text>,
        methods -> Text,
        max_age -> Nullable<BigInt>,
        force_login -> Bool,
        acr -> Nullable<Text>,
        resume_kind -> Text,
        resume -> Text,
        attempts -> Integer,
        ceremony -> Nullable<Text>,
        client_addr -> Nullable<Text>,
        created_at -> BigInt,
        expires_at -> BigInt,
        org_id -> Nullable<Text>,
    }
}

diesel::table! {
    totp_credentials (user_id) {
        user_id -> Text,
        secret -> Text,
        confirmed -> Bool,
        last_step -> Nullable<BigInt>,
        created_at -> BigInt,
        confirmed_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    recovery_codes (code_hash) {
        code_hash -> Text,
        user_id -> Text,
        created_at -> BigInt,
        used_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    passkeys (id) {
        id -> Text,
        user_id -> Text,
        credential_id -> Text,
        name -> Text,
        credential -> Text,
        sign_count -> BigInt,
        created_at -> BigInt,
        last_used_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    sso_connections (id) {
        id -> Text,
        org_id -> Text,
        kind -> Text,
        name -> Text,
        enabled -> Bool,
        config -> Text,
        secret -> Nullable<Text>,
        created_at -> BigInt,
    }
}

diesel::table! {
    org_domains (org_id, domain) {
        org_id -> Text,
        domain -> Text,
        challenge -> Text,
        created_at -> BigInt,
        verified_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    external_identities (connection_id, subject) {
        connection_id -> Text,
        subject -> Text,
        user_id -> Text,
        created_at -> BigInt,
        last_used_at -> BigInt,
    }
}

diesel::joinable!(external_identities -> users (user_id));
diesel::table! {
    saml_seen_assertions (connection_id, assertion_id) {
        connection_id -> Text,
        assertion_id -> Text,
        expires_at -> BigInt,
    }
}

diesel::table! {
    saml_inbox (id_hash) {
        id_hash -> Text,
        kind -> Text,
        target -> Text,
        message -> Text,
        relay_state -> Nullable<Text>,
        client_addr -> Nullable<Text>,
        created_at -> BigInt,
        expires_at -> BigInt,
    }
}

diesel::table! {
    saml_apps (id) {
        id -> Text,
        org_id -> Nullable<Text>,
        name -> Text,
        entity_id -> Text,
        acs_url -> Text,
        nameid_format -> Text,
        config -> Text,
        created_at -> BigInt,
    }
}

diesel::joinable!(external_identities -> sso_connections (connection_id));
diesel::joinable!(sso_connections -> organisations (org_id));
diesel::joinable!(saml_seen_assertions -> sso_connections (connection_id));
diesel::joinable!(saml_apps -> organisations (org_id));
diesel::joinable!(org_domains -> organisations (org_id));
diesel::joinable!(sessions -> users (user_id));
diesel::joinable!(oauth_consents -> oauth_clients (client_id));
diesel::joinable!(api_key_secrets -> api_keys (key_id));
diesel::joinable!(api_keys -> organisations (org_id));
diesel::joinable!(applications -> organisations (org_id));
diesel::joinable!(oauth_codes -> oauth_grants (grant_id));
diesel::joinable!(oauth_refresh_tokens -> oauth_grants (grant_id));

diesel::allow_tables_to_appear_in_same_query!(
    organisations,
    totp_credentials,
    recovery_codes,
    passkeys,
    users,
    memberships,
    groups,
    group_members,
    sessions,
    audit_events,
    login_throttle,
    meta,
    oauth_clients,
    oauth_consents,
    oauth_grants,
    oauth_codes,
    oauth_access_tokens,
    oauth_refresh_tokens,
    signing_keys,
    applications,
    api_keys,
    api_key_secrets,
    device_codes,
    signin_flows,
    sso_connections,
    org_domains,
    external_identities,
    saml_seen_assertions,
    saml_inbox,
    saml_apps,
    email_links,
);

// SCIM provisioning (issue #13).
diesel::table! {
    scim_tokens (id) {
        id -> Text,
        org_id -> Text,
        token_hash -> Text,
        description -> Text,
        created_at -> BigInt,
        created_by -> Nullable<Text>,
        revoked_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    scim_users (user_id) {
        user_id -> Text,
        org_id -> Text,
        user_name -> Text,
        user_name_key -> Text,
        external_id -> Nullable<Text>,
        display_name -> Nullable<Text>,
        display_name_key -> Nullable<Text>,
        given_name -> Nullable<Text>,
        given_name_key -> Nullable<Text>,
        family_name -> Nullable<Text>,
        family_name_key -> Nullable<Text>,
        formatted -> Nullable<Text>,
        title -> Nullable<Text>,
        title_key -> Nullable<Text>,
        emails -> Text,
        email_key -> Nullable<Text>,
        employee_number -> Nullable<Text>,
        employee_number_key -> Nullable<Text>,
        department -> Nullable<Text>,
        department_key -> Nullable<Text>,
        manager_id -> Nullable<Text>,
        version -> BigInt,
        created_at -> BigInt,
        updated_at -> BigInt,
    }
}

diesel::table! {
    scim_groups (group_id) {
        group_id -> Text,
        org_id -> Text,
        display_name -> Text,
        display_name_key -> Text,
        external_id -> Nullable<Text>,
        version -> BigInt,
        created_at -> BigInt,
        updated_at -> BigInt,
    }
}

diesel::joinable!(scim_users -> users (user_id));
diesel::joinable!(scim_groups -> groups (group_id));
diesel::allow_tables_to_appear_in_same_query!(scim_users, users);
diesel::allow_tables_to_appear_in_same_query!(scim_users, group_members);
diesel::allow_tables_to_appear_in_same_query!(scim_users, groups);
diesel::allow_tables_to_appear_in_same_query!(scim_users, scim_groups);
diesel::allow_tables_to_appear_in_same_query!(scim_groups, groups);
diesel::allow_tables_to_appear_in_same_query!(scim_groups, group_members);
diesel::allow_tables_to_appear_in_same_query!(scim_groups, users);
diesel::allow_tables_to_appear_in_same_query!(scim_tokens, organisations);
