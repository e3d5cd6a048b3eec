use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Executor};
use tokio::sync::{Mutex, OwnedMutexGuard};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A handle to the state store. Cheap to clone.
#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    /// SQLite allows one writer; serializing writes here avoids SQLITE_BUSY on lock upgrades.
    /// (WAL with synchronous=FULL: an acknowledged write survives a process crash and a power cut.)
    writer: Arc<Mutex<()>>,
    /// For the change listener, which needs a connection of its own.
    url: String,
}

/// The PostgreSQL channel hearth's change notifications travel on.
const CHANNEL: &str = "hearth_changes";

/// A write transaction: holds the store's write lock until it is committed or dropped
/// (dropping rolls back, so an early `?` return leaves nothing half-written).
pub struct WriteTx {
    tx: sqlx::Transaction<'static, sqlx::Any>,
    _guard: OwnedMutexGuard<()>,
}

impl WriteTx {
    pub async fn commit(self) -> crate::Result<()> {
        self.tx.commit().await
    }

    /// Rolls back now, still holding the write lock. Dropping also rolls back, but only queues
    /// the ROLLBACK: the next writer could then meet the old transaction's lock on SQLite
    /// ("database is locked").
    pub async fn rollback(self) -> crate::Result<()> {
        self.tx.rollback().await
    }
}

impl std::ops::Deref for WriteTx {
    type Target = sqlx::AnyConnection;
    fn deref(&self) -> &Self::Target {
        &self.tx
    }
}

impl std::ops::DerefMut for WriteTx {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.tx
    }
}

/// A write of rows only one process ever writes (a host's heartbeat, its consoles): outside
/// the store-wide lock on PostgreSQL, so it never waits behind a long write of another host;
/// inside it on SQLite, where a write outside would meet a writer's lock upgrade.
pub enum OwnRowWrite {
    Direct(sqlx::pool::PoolConnection<sqlx::Any>),
    Locked(WriteTx),
}

impl OwnRowWrite {
    /// Commits (a direct write is already committed statement by statement).
    pub async fn finish(self) -> crate::Result<()> {
        match self {
            OwnRowWrite::Direct(_) => Ok(()),
            OwnRowWrite::Locked(tx) => tx.commit().await,
        }
    }
}

impl std::ops::Deref for OwnRowWrite {
    type Target = sqlx::AnyConnection;
    fn deref(&self) -> &Self::Target {
        match self {
            OwnRowWrite::Direct(c) => c,
            OwnRowWrite::Locked(tx) => tx,
        }
    }
}

impl std::ops::DerefMut for OwnRowWrite {
    fn deref_mut(&mut self) -> &mut Self::Target {
        match self {
            OwnRowWrite::Direct(c) => c,
            OwnRowWrite::Locked(tx) => tx,
        }
    }
}

impl Store {
    /// The default URL: a SQLite file inside the data directory.
    pub fn default_url(data_dir: &Path) -> String {
        format!("sqlite://{}?mode=rwc", data_dir.join("hearth.db").display())
    }

    /// Connects and applies pending migrations.
    pub async fn connect(url: &str) -> crate::Result<Store> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres
        } else if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else {
            return Err(sqlx::Error::Configuration(
                format!("unsupported database URL {url:?}: use sqlite://PATH or postgres://...")
                    .into(),
            ));
        };
        let options = AnyConnectOptions::from_str(url)?;
        let pool_options = AnyPoolOptions::new()
            .max_connections(if backend == Backend::Sqlite { 3 } else { 16 })
            .acquire_timeout(Duration::from_secs(10));
        let pool = match backend {
            Backend::Sqlite => {
                pool_options
                    .after_connect(|conn, _| {
                        Box::pin(async move {
                            conn.execute("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = ON;")
                                .await?;
                            Ok(())
                        })
                    })
                    .connect_with(options)
                    .await?
            }
            Backend::Postgres => pool_options.connect_with(options).await?,
        };
        MIGRATOR.run(&pool).await?;
        Ok(Store {
            pool,
            backend,
            writer: Arc::new(Mutex::new(())),
            url: url.to_string(),
        })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The pool, for reads.
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Starts a serialized write transaction. On PostgreSQL an advisory lock extends the
    /// serialization to every host sharing the database.
    pub async fn write(&self) -> crate::Result<WriteTx> {
        let guard = self.writer.clone().lock_owned().await;
        let mut tx = self.pool.begin().await?;
        if self.backend == Backend::Postgres {
            sqlx::query("SELECT pg_advisory_xact_lock(7201)")
                .execute(&mut *tx)
                .await?;
        }
        Ok(WriteTx { tx, _guard: guard })
    }

    /// Starts a write of rows only the caller's process writes ([`OwnRowWrite`]).
    pub async fn own_row_write(&self) -> crate::Result<OwnRowWrite> {
        Ok(match self.backend {
            Backend::Postgres => OwnRowWrite::Direct(self.pool.acquire().await?),
            Backend::Sqlite => OwnRowWrite::Locked(self.write().await?),
        })
    }

    /// Tells every process listening on this database that `what` changed ("instances",
    /// "network"): a wake-up only, each listener re-reads the store. Sent on `conn`, so inside a
    /// transaction it is delivered at commit and never for a rollback. Nothing on SQLite, whose
    /// processes share one host and rescan.
    pub async fn notify(&self, conn: &mut sqlx::AnyConnection, what: &str) -> crate::Result<()> {
        if self.backend == Backend::Postgres {
            sqlx::query("SELECT pg_notify($1, $2)")
                .bind(CHANNEL)
                .bind(what)
                .execute(conn)
                .await?;
        }
        Ok(())
    }

    /// Calls `on_change` with each notification's `what`, for as long as the process runs, on
    /// PostgreSQL (returns at once on SQLite). A lost connection is reopened; what was sent
    /// meanwhile is missed, which the listeners' periodic re-reads make up for.
    pub async fn listen(&self, on_change: impl Fn(&str) + Send + 'static) {
        if self.backend != Backend::Postgres {
            return;
        }
        loop {
            let listener = async {
                let mut l = sqlx::postgres::PgListener::connect(&self.url).await?;
                l.listen(CHANNEL).await?;
                loop {
                    let n = l.recv().await?;
                    on_change(n.payload());
                }
                #[allow(unreachable_code)]
                Ok::<(), sqlx::Error>(())
            };
            if let Err(e) = listener.await {
                tracing::warn!(error = %e, "change notifications lost; listening again");
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }

    pub async fn close(&self) {
        self.pool.close().await
    }
}
