//! The template every test database is copied from holds what a first start makes: the same
//! tables, columns, defaults, constraints, indexes, sequences and migrations, and as many rows.

use diesel::sql_types::Text;
use diesel::{Connection, PgConnection, RunQueryDsl, SqliteConnection};

use crate::both;
use crate::helpers::*;

#[derive(diesel::QueryableByName)]
struct Line {
    #[diesel(sql_type = Text)]
    line: String,
}

fn lines<C>(conn: &mut C, sql: &str) -> Vec<String>
where
    C: Connection,
    diesel::query_builder::SqlQuery: diesel::query_dsl::LoadQuery<'static, C, Line>,
{
    diesel::sql_query(sql)
        .load::<Line>(conn)
        .unwrap_or_else(|e| panic!("{e}: {sql}"))
        .into_iter()
        .map(|l| l.line)
        .collect()
}

const PG_CATALOG: [&str; 5] = [
    "SELECT format('column %s.%s %s null=%s default=%s', table_name, column_name, data_type,
            is_nullable, coalesce(column_default, '')) AS line
       FROM information_schema.columns WHERE table_schema = current_schema()",
    "SELECT format('constraint %s %s %s', conrelid::regclass::text, conname,
            pg_get_constraintdef(oid)) AS line
       FROM pg_constraint WHERE connamespace = current_schema()::regnamespace",
    "SELECT format('index %s', replace(pg_get_indexdef(i.indexrelid), current_schema() || '.', ''))
            AS line
       FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
       WHERE c.relnamespace = current_schema()::regnamespace",
    "SELECT format('sequence %s', sequencename) AS line FROM pg_sequences
       WHERE schemaname = current_schema()",
    "SELECT format('migration %s', version) AS line FROM __diesel_schema_migrations",
];

const SQLITE_CATALOG: [&str; 2] = [
    "SELECT type || ' ' || name || ' ' || coalesce(sql, '') AS line FROM sqlite_master",
    "SELECT 'migration ' || version AS line FROM __diesel_schema_migrations",
];

/// The schema's description and each table's row count, sorted.
fn describe(backend: Backend, url: &str) -> Vec<String> {
    let mut out = Vec::new();
    match backend {
        Backend::Postgres => {
            let mut c = PgConnection::establish(url).unwrap();
            for sql in PG_CATALOG {
                out.extend(lines(&mut c, sql));
            }
            let tables = lines(
                &mut c,
                "SELECT tablename::text AS line FROM pg_tables WHERE schemaname = current_schema()",
            );
            for t in tables {
                let sql = format!("SELECT format('rows %s %s', '{t}', count(*)) AS line FROM {t}");
                out.extend(lines(&mut c, &sql));
            }
        }
        Backend::Sqlite => {
            let mut c = SqliteConnection::establish(url).unwrap();
            for sql in SQLITE_CATALOG {
                out.extend(lines(&mut c, sql));
            }
            let tables = lines(
                &mut c,
                "SELECT name AS line FROM sqlite_master WHERE type = 'table'
                   AND name NOT LIKE 'sqlite_%'",
            );
            for t in tables {
                let sql = format!("SELECT 'rows {t} ' || count(*) AS line FROM {t}");
                out.extend(lines(&mut c, &sql));
            }
        }
    }
    out.sort();
    out
}

async fn template_matches_a_first_start(backend: Backend) {
    let (Some(fresh), Some(copy)) = (TestDb::empty(backend), TestDb::new(backend)) else {
        return;
    };
    let clock = mintgate::clock::ManualClock::starting_now();
    let first = spawn_on(&fresh, clock.clone(), |_| {}).await;
    let from_template = spawn_on(&copy, clock, |_| {}).await;
    let (fresh_url, copy_url) = (fresh.url.clone(), copy.url.clone());
    let (fresh_desc, copy_desc) = tokio::task::spawn_blocking(move || {
        (describe(backend, &fresh_url), describe(backend, &copy_url))
    })
    .await
    .unwrap();
    assert!(fresh_desc.iter().any(|l| l.starts_with("rows users 1")));
    assert_eq!(copy_desc, fresh_desc);
    // Both owners sign in with the configured password (a real argon2id verification).
    first.sign_in_admin().await;
    from_template.sign_in_admin().await;
}

both!(template_matches_a_first_start);
