//! A real PostgreSQL for store tests: `LOOKOUT_TEST_POSTGRES_URL` (`scripts/test-postgres.sh
//! start` prints one), each test in a schema of its own so runs (and parallel test binaries)
//! never see each other's rows. Without the variable a test is skipped with a note, except in
//! CI, where it fails.

/// A schema of the test's own on the test PostgreSQL; [`TestSchema::drop`] removes it.
pub struct TestSchema {
    pub name: String,
    /// The server's URL with `search_path` set to the schema.
    pub url: String,
    admin: sqlx::PgPool,
}

impl TestSchema {
    /// A fresh schema for `test`, or `None` (after a note) when no PostgreSQL is configured
    /// outside CI.
    pub async fn create(test: &str) -> Option<Self> {
        let Ok(base) = std::env::var("LOOKOUT_TEST_POSTGRES_URL") else {
            if std::env::var_os("CI").is_some() {
                panic!(
                    "PostgreSQL is required in CI: set LOOKOUT_TEST_POSTGRES_URL \
                     (scripts/test-postgres.sh start prints one)"
                );
            }
            eprintln!(
                "note: {test} skipped; run `scripts/test-postgres.sh start` and set \
                 LOOKOUT_TEST_POSTGRES_URL=$(scripts/test-postgres.sh url)"
            );
            return None;
        };
        let name = format!(
            "lookout_{test}_{}_{}",
            std::process::id(),
            rand::random::<u32>()
        );
        let admin = sqlx::PgPool::connect(&base)
            .await
            .expect("the test PostgreSQL accepts connections");
        sqlx::query(&format!("CREATE SCHEMA {name}"))
            .execute(&admin)
            .await
            .expect("a schema for the test");
        let separator = if base.contains('?') { '&' } else { '?' };
        let url = format!("{base}{separator}options=-csearch_path%3D{name}");
        Some(Self { name, url, admin })
    }

    /// The connection the schema was created with (outside the schema).
    pub fn admin(&self) -> &sqlx::PgPool {
        &self.admin
    }

    /// Drops the schema and everything in it.
    pub async fn drop(self) {
        sqlx::query(&format!("DROP SCHEMA {} CASCADE", self.name))
            .execute(&self.admin)
            .await
            .expect("the test schema drops");
        self.admin.close().await;
    }
}
