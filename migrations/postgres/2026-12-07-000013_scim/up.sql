-- SCIM 2.0 provisioning (issue #13).
--
-- A SCIM token belongs to one organisation; only its SHA-256 is stored.
CREATE TABLE scim_tokens (
    id TEXT PRIMARY KEY NOT NULL,
    org_id TEXT NOT NULL REFERENCES organisations(id) ON DELETE CASCADE,
    token_hash TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    created_by TEXT,
    revoked_at BIGINT
);
CREATE INDEX scim_tokens_org_id ON scim_tokens (org_id);

-- The SCIM view of an organisation's managed accounts (users.home_org = org_id): the SCIM-only
-- attributes, and a lower-cased `*_key` copy of each one a filter or sortBy may name, indexed
-- on (org_id, key) so a filter is one indexed query. `user_name` is the SCIM userName (it may
-- hold `@`, which a mintgate username cannot), unique per organisation.
CREATE TABLE scim_users (
    user_id TEXT PRIMARY KEY NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    org_id TEXT NOT NULL REFERENCES organisations(id) ON DELETE CASCADE,
    user_name TEXT NOT NULL,
    user_name_key TEXT NOT NULL,
    external_id TEXT,
    display_name TEXT,
    display_name_key TEXT,
    given_name TEXT,
    given_name_key TEXT,
    family_name TEXT,
    family_name_key TEXT,
    formatted TEXT,
    title TEXT,
    title_key TEXT,
    emails TEXT NOT NULL,
    email_key TEXT,
    employee_number TEXT,
    employee_number_key TEXT,
    department TEXT,
    department_key TEXT,
    manager_id TEXT,
    version BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX scim_users_user_name ON scim_users (org_id, user_name_key);
CREATE INDEX scim_users_external_id ON scim_users (org_id, external_id);
CREATE INDEX scim_users_display_name ON scim_users (org_id, display_name_key);
CREATE INDEX scim_users_given_name ON scim_users (org_id, given_name_key);
CREATE INDEX scim_users_family_name ON scim_users (org_id, family_name_key);
CREATE INDEX scim_users_title ON scim_users (org_id, title_key);
CREATE INDEX scim_users_email ON scim_users (org_id, email_key);
CREATE INDEX scim_users_employee_number ON scim_users (org_id, employee_number_key);
CREATE INDEX scim_users_department ON scim_users (org_id, department_key);
CREATE INDEX scim_users_manager ON scim_users (org_id, manager_id);
CREATE INDEX scim_users_created ON scim_users (org_id, created_at);
CREATE INDEX scim_users_updated ON scim_users (org_id, updated_at);
-- The newest accounts of an organisation, which tell whether SSO created one SCIM has not seen.
CREATE INDEX users_home_org_created ON users (home_org, created_at);

-- SCIM groups: organisation groups with groups.managed_by = 'scim', and their SCIM attributes.
CREATE TABLE scim_groups (
    group_id TEXT PRIMARY KEY NOT NULL REFERENCES groups(id) ON DELETE CASCADE,
    org_id TEXT NOT NULL REFERENCES organisations(id) ON DELETE CASCADE,
    display_name TEXT NOT NULL,
    display_name_key TEXT NOT NULL,
    external_id TEXT,
    version BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX scim_groups_display_name ON scim_groups (org_id, display_name_key);
CREATE INDEX scim_groups_external_id ON scim_groups (org_id, external_id);
CREATE INDEX scim_groups_created ON scim_groups (org_id, created_at);
CREATE INDEX scim_groups_updated ON scim_groups (org_id, updated_at);
