//! The operator's tenancy commands (issue #11): `org add-member`, `group create`,
//! `group add-member`, `client create --org` and `client list`.

use serde_json::Value;

use crate::both;
use crate::cli::run;
use crate::helpers::*;

fn json(out: &str) -> Value {
    serde_json::from_str(out).unwrap_or_else(|e| panic!("{e}: {out}"))
}

async fn tenancy_commands(backend: Backend) {
    let Some(db) = TestDb::empty(backend) else {
        return;
    };
    tokio::task::spawn_blocking(move || {
        let ok = |args: &[&str], stdin: &str| {
            let (code, out, err) = run(&db, args, stdin);
            assert_eq!(code, 0, "{args:?}: {err}");
            out
        };
        ok(&["org", "create", "Acme"], "");
        let org = json(&ok(&["org", "create", "Beta", "--json"], ""));
        ok(
            &[
                "user",
                "create",
                "--username",
                "ivy",
                "--email",
                "ivy@acme.test",
                "--org",
                "Acme",
                "--password-stdin",
            ],
            "ivy-password-123\n",
        );
        let added = json(&ok(
            &[
                "org",
                "add-member",
                "--org",
                "beta",
                "--user",
                "ivy",
                "--json",
            ],
            "",
        ));
        assert_eq!(added["change"], "added");
        assert_eq!(added["role"], "member");
        let changed = json(&ok(
            &[
                "org",
                "add-member",
                "--org",
                "Beta",
                "--user",
                "IVY",
                "--role",
                "owner",
                "--json",
            ],
            "",
        ));
        assert_eq!(changed["change"], "role_changed");
        assert_eq!(changed["org"], org["id"]);
        let group = json(&ok(
            &["group", "create", "--org", "beta", "Ops", "--json"],
            "",
        ));
        assert_eq!(group["name"], "Ops");
        let (code, _, err) = run(&db, &["group", "create", "--org", "beta", "ops"], "");
        assert_ne!(code, 0);
        assert!(err.contains("already exists"), "{err}");
        let member = json(&ok(
            &[
                "group",
                "add-member",
                "--org",
                "beta",
                "ops",
                "ivy",
                "--json",
            ],
            "",
        ));
        assert_eq!(member["group"], group["id"]);
        // Unknown organisations, groups and users are named; a non-member joins no group.
        let (code, _, err) = run(
            &db,
            &["group", "add-member", "--org", "beta", "nope", "ivy"],
            "",
        );
        assert_ne!(code, 0);
        assert!(err.contains("no group named `nope`"), "{err}");
        ok(&["org", "create", "Gamma"], "");
        ok(&["group", "create", "--org", "gamma", "g"], "");
        let (code, _, err) = run(
            &db,
            &["group", "add-member", "--org", "gamma", "g", "ivy"],
            "",
        );
        assert_ne!(code, 0);
        assert!(err.contains("not a member"), "{err}");
        let (code, _, err) = run(
            &db,
            &["org", "add-member", "--org", "nope", "--user", "ivy"],
            "",
        );
        assert_ne!(code, 0);
        assert!(err.contains("no organisation named `nope`"), "{err}");
        // Clients: an organisation's, and the operator's.
        let client = json(&ok(
            &[
                "client",
                "create",
                "--name",
                "beta app",
                "--redirect-uri",
                "https://rp.example/cb",
                "--org",
                "Beta",
                "--json",
            ],
            "",
        ));
        ok(
            &[
                "client",
                "create",
                "--name",
                "first party",
                "--redirect-uri",
                "https://rp.example/cb",
            ],
            "",
        );
        let (code, _, err) = run(
            &db,
            &[
                "client",
                "create",
                "--name",
                "x",
                "--redirect-uri",
                "https://rp.example/cb",
                "--org",
                "nope",
            ],
            "",
        );
        assert_ne!(code, 0);
        assert!(err.contains("no organisation named `nope`"), "{err}");
        let list = json(&ok(&["client", "list", "--json"], ""));
        let by_name = |n: &str| {
            list.as_array()
                .unwrap()
                .iter()
                .find(|c| c["name"] == n)
                .unwrap()
                .clone()
        };
        assert_eq!(by_name("beta app")["org_id"], org["id"]);
        assert_eq!(by_name("beta app")["id"], client["client_id"]);
        assert!(by_name("first party")["org_id"].is_null());
        let human = ok(&["client", "list"], "");
        assert!(
            human.contains(org["id"].as_str().unwrap()) && human.contains("operator"),
            "{human}"
        );
    })
    .await
    .unwrap();
}

both!(tenancy_commands);
