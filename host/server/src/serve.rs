//! Serving: bind, start the scheduler, serve HTTP (or HTTPS) until told
//! to stop, then let the syncs in flight finish; on an embedded (SQLite)
//! store, make sure this is the only instance.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use hubsync_engine::Engine;
use tokio::sync::watch;
use tracing::{info, warn};

use crate::state::{AppState, ServeOptions};
use crate::{ServerError, events, follow, http, now_micros, scheduler, tls, ui};

/// Serve until `shutdown` resolves: the API and the scheduler. Then stop
/// taking work, let the batches in flight finish, release the leases.
pub async fn serve(
    engine: Engine,
    options: ServeOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    let listener = tokio::net::TcpListener::bind(options.listen)
        .await
        .map_err(|cause| ServerError::Listen { addr: options.listen.to_string(), cause })?;
    serve_on(listener, engine, options, shutdown).await
}

/// [`serve`] on a listener already bound (`options.listen` is ignored).
pub async fn serve_on(
    listener: tokio::net::TcpListener,
    engine: Engine,
    options: ServeOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    let tls = options.tls.as_ref().map(|(c, k)| tls::acceptor(c, k)).transpose()?;
    let state = AppState::new(engine, options);
    let singleton = single_instance(&state).await?;
    let (stop_tx, stop_rx) = watch::channel(false);
    let scheduler = tokio::spawn(scheduler::run(state.clone(), stop_rx.clone()));
    let watcher = tokio::spawn(events::watch(state.clone()));
    let followers = tokio::spawn(follow::run(state.clone(), stop_rx.clone()));
    let addr = listener.local_addr().map(|a| a.to_string()).unwrap_or_default();
    info!(%addr, instance = %state.instance, tls = tls.is_some(), "serving");
    let key = ui::session_key(&state).await?;
    let _ = state.session_key.set(key.clone());
    let app = ui::with_dashboard(http::router(state.clone()), key, tls.is_some());
    let mut stop_http = stop_rx.clone();
    let stopped = async move {
        while !*stop_http.borrow() {
            if stop_http.changed().await.is_err() {
                break;
            }
        }
    };
    let closing = state.clone();
    tokio::spawn(async move {
        shutdown.await;
        let _ = stop_tx.send(true);
        // Event streams never end by themselves: end them, so the
        // graceful shutdown does not wait for their readers.
        closing.events.close();
    });
    match tls {
        None => axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>())
            .with_graceful_shutdown(stopped)
            .await
            .map_err(|cause| ServerError::Listen { addr: addr.clone(), cause })?,
        Some(acceptor) => tls::serve(listener, acceptor, app, stopped).await,
    }
    info!("HTTP stopped; waiting for the syncs in flight");
    if let Err(e) = scheduler.await {
        warn!(error = %e, "the scheduler ended abnormally");
    }
    watcher.abort();
    followers.abort();
    if let Some(h) = singleton {
        h.abort();
    }
    Ok(())
}

/// On a SQLite store, hold the store's lock file and the instance lease
/// (renewed in the background); refuse to start when another live instance
/// holds them. The lock file decides: the kernel releases it the moment its
/// holder dies, so a supervisor restarting a killed instance at once is not
/// turned away by the dead one's lease (it is taken over).
async fn single_instance(state: &Arc<AppState>) -> Result<Option<tokio::task::JoinHandle<()>>, ServerError> {
    if state.engine.meta().engine() != hubsync_core::EngineKind::Sqlite {
        return Ok(None);
    }
    let lock = match state.engine.meta().file() {
        Some(file) => Some(lock_store(file, &state.instance)?),
        None => None,
    };
    let ttl = state.options.lease_seconds.max(2) as i64 * 1_000_000;
    let take_over = lock.is_some();
    if let Some(other) = state.engine.meta().claim_instance(&state.instance, now_micros(), ttl, take_over).await? {
        return Err(ServerError::Busy(other));
    }
    let state = state.clone();
    Ok(Some(tokio::spawn(async move {
        // Held as long as this task runs (aborted at shutdown, which drops it).
        let _lock = lock;
        loop {
            tokio::time::sleep(std::time::Duration::from_micros(ttl as u64 / 3)).await;
            match state.engine.meta().claim_instance(&state.instance, now_micros(), ttl, take_over).await {
                Ok(None) => {}
                Ok(Some(other)) => warn!(%other, "another instance took this SQLite store"),
                Err(e) => warn!(error = %e, "renewing the instance lease failed"),
            }
        }
    })))
}

/// Take the exclusive lock of `FILE.lock` beside a SQLite store, writing
/// `instance` into it; `Busy` with the holder's name when a live process has it.
fn lock_store(file: &std::path::Path, instance: &str) -> Result<std::fs::File, ServerError> {
    use std::io::{Read, Seek, Write};
    let mut path = file.as_os_str().to_owned();
    path.push(".lock");
    let path = std::path::PathBuf::from(path);
    let io = |e: std::io::Error| ServerError::Invalid(format!("cannot lock {}: {e}", path.display()));
    let mut f =
        std::fs::OpenOptions::new().read(true).write(true).create(true).truncate(false).open(&path).map_err(io)?;
    match f.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            let mut holder = String::new();
            let _ = f.read_to_string(&mut holder);
            let holder = holder.trim();
            return Err(ServerError::Busy(if holder.is_empty() {
                "its name is unknown".into()
            } else {
                holder.into()
            }));
        }
        Err(std::fs::TryLockError::Error(e)) => return Err(io(e)),
    }
    f.set_len(0).and_then(|()| f.rewind()).and_then(|()| writeln!(f, "{instance}")).map_err(io)?;
    Ok(f)
}
