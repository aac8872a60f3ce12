//! The PostgreSQL schema of a task hub (issue 10, first step), on a real
//! private server started by the test kit: a fresh schema migrates to the
//! latest version, migrating again changes nothing, hosts migrating at once
//! migrate once, and a schema newer than this build is refused and left
//! alone.

use weft_store::pg::{LATEST, Schema, connect, migrate};
use weft_store::{Hub, StoreError};
use weft_testkit::postgres::PgCluster;

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

async fn tables(client: &tokio_postgres::Client, schema: &str) -> Vec<String> {
    client
        .query(
            "SELECT table_name::text FROM information_schema.tables WHERE table_schema = $1 ORDER BY 1",
            &[&schema],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

#[test]
fn a_fresh_schema_migrates_once_and_again_changes_nothing() {
    let url = PgCluster::shared().fresh_database("schema");
    rt().block_on(async {
        let mut client = connect(&url).await.unwrap();
        let schema = Schema::hub(&Hub::new("Orders").unwrap());
        assert_eq!(schema.name(), "weft_Orders", "the hub's name as spelled");
        assert_eq!(migrate(&mut client, &schema).await.unwrap(), 0);
        assert_eq!(
            tables(&client, schema.name()).await,
            [
                "activities",
                "entities",
                "history",
                "hosts",
                "inbox",
                "instances",
                "partitions",
                "schema_migrations",
                "timers"
            ]
        );
        // `orders` is another hub, with a schema of its own.
        let lower = Schema::hub(&Hub::new("orders").unwrap());
        assert_eq!(migrate(&mut client, &lower).await.unwrap(), 0);
        assert_eq!(migrate(&mut client, &schema).await.unwrap(), LATEST);
        let versions: i64 = client
            .query_one(
                &format!("SELECT count(*) FROM {}.schema_migrations", schema.ident()),
                &[],
            )
            .await
            .unwrap()
            .get(0);
        assert_eq!(versions, LATEST as i64);
    });
}

#[test]
fn hosts_migrating_at_once_migrate_once() {
    let url = PgCluster::shared().fresh_database("race");
    rt().block_on(async {
        let mut tasks = Vec::new();
        for _ in 0..6 {
            let url = url.clone();
            tasks.push(tokio::spawn(async move {
                let mut client = connect(&url).await.unwrap();
                migrate(&mut client, &Schema::hub(&Hub::default_hub()))
                    .await
                    .unwrap()
            }));
        }
        let mut before = Vec::new();
        for t in tasks {
            before.push(t.await.unwrap());
        }
        before.sort();
        let mut expected = vec![LATEST; 6];
        expected[0] = 0;
        assert_eq!(before, expected, "exactly one host found the schema empty");
    });
}

#[test]
fn a_schema_newer_than_this_build_is_refused_and_left_alone() {
    let url = PgCluster::shared().fresh_database("newer");
    rt().block_on(async {
        let mut client = connect(&url).await.unwrap();
        migrate(&mut client, &Schema::hub(&Hub::default_hub())).await.unwrap();
        client
            .execute(
                "INSERT INTO weft_default.schema_migrations (version, min_compatible) VALUES ($1, $1)",
                &[&(LATEST + 1)],
            )
            .await
            .unwrap();
        let err = migrate(&mut client, &Schema::hub(&Hub::default_hub())).await.unwrap_err();
        assert!(
            matches!(err, StoreError::UnsupportedFormat { found, supported, .. }
                if found == (LATEST + 1) as u64 && supported == LATEST as u64),
            "{err}"
        );
        assert!(err.to_string().contains("upgrade Weft"), "{err}");
        let rows: i64 = client
            .query_one("SELECT count(*) FROM weft_default.schema_migrations", &[])
            .await
            .unwrap()
            .get(0);
        assert_eq!(rows, LATEST as i64 + 1, "nothing was changed");
    });
}

#[test]
fn a_server_that_is_not_there_is_a_clear_open_error() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let err = rt()
        .block_on(connect(&format!("postgres://weft@127.0.0.1:{port}/x")))
        .unwrap_err();
    assert!(
        err.to_string().contains("cannot connect to PostgreSQL"),
        "{err}"
    );
}
