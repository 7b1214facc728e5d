//! The accept loop behind every listener: a cap on open connections, a header-read timeout, a
//! keep-alive idle timeout and graceful shutdown, none of which `axum::serve` offers.

use std::{
    convert::Infallible,
    future::Future,
    io,
    net::SocketAddr,
    pin::{Pin, pin},
    sync::{Arc, Mutex, PoisonError},
    task::{Context, Poll},
    time::Duration,
};

use axum::{Router, body::Body, extract::ConnectInfo, http::Request};
use hyper::body::{Bytes, Frame, Incoming, SizeHint};
use hyper_util::{
    rt::TokioIo,
    server::graceful::{GracefulShutdown, Watcher},
};
use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    net::{TcpListener, TcpStream},
    sync::{Notify, OwnedSemaphorePermit, Semaphore},
    time::Instant,
};
use tower::ServiceExt;

use crate::config::HttpConfig;

/// How a listener treats its connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// From the first byte of a request (or the connection's opening) to its last header byte.
    pub header_read_timeout: Duration,
    /// Longest wait for the next request on a kept-alive connection.
    pub keepalive_timeout: Duration,
    /// Connections open at once; further clients wait in the listen backlog.
    pub max_connections: usize,
}

impl From<&HttpConfig> for Limits {
    fn from(http: &HttpConfig) -> Self {
        Self {
            header_read_timeout: Duration::from_secs(http.header_read_timeout_secs),
            keepalive_timeout: Duration::from_secs(http.keepalive_timeout_secs),
            max_connections: http.max_connections,
        }
    }
}

/// File descriptors kept back from connections for the database pool, Redis, the metrics
/// listener, the SMS outbox and the log.
pub const RESERVED_FILES: usize = 256;

/// Raises the soft `RLIMIT_NOFILE` to the hard limit, as nginx's `worker_rlimit_nofile` does:
/// the common soft default of 1,024 ran out at about a thousand connections. Returns the soft
/// limit now in force, if it could be read.
pub fn raise_open_files_limit() -> Option<usize> {
    #[cfg(target_os = "linux")]
    {
        let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
        // SAFETY: getrlimit only writes the struct it is given, which lives on this stack.
        if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
            return None;
        }
        if limit.rlim_cur < limit.rlim_max {
            let raised = libc::rlimit { rlim_cur: limit.rlim_max, rlim_max: limit.rlim_max };
            // SAFETY: setrlimit only reads the struct it is given.
            if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } == 0 {
                limit = raised;
            } else {
                tracing::warn!(soft = limit.rlim_cur, hard = limit.rlim_max, "cannot raise the open files limit");
            }
        }
        Some(usize::try_from(limit.rlim_cur).unwrap_or(usize::MAX))
    }
    #[cfg(not(target_os = "linux"))]
    None
}

/// Serves `router` on `listener` until `shutdown` completes, then stops accepting and waits for
/// the requests in flight; idle connections are closed at once.
pub async fn serve(listener: TcpListener, router: Router, limits: Limits, shutdown: impl Future<Output = ()>) {
    let slots = Arc::new(Semaphore::new(limits.max_connections.min(Semaphore::MAX_PERMITS)));
    let graceful = GracefulShutdown::new();
    let mut shutdown = pin!(shutdown);
    loop {
        // The slot is taken before `accept`: at the cap, clients wait in the kernel's listen
        // backlog, holding no descriptor of ours, instead of failing with EMFILE.
        let permit = tokio::select! {
            permit = slots.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    accept_failed(error).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        tokio::spawn(serve_connection(stream, peer, router.clone(), limits, graceful.watcher(), permit));
    }
    // Closing the socket now sends new clients elsewhere rather than into a backlog nobody reads.
    drop(listener);
    graceful.shutdown().await;
}

/// Connection-level errors concern one client; anything else (EMFILE, ENOBUFS) is the process's
/// and retried after a pause, as hyper 0.14's server did, so it is not a busy loop.
async fn accept_failed(error: io::Error) {
    use io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(error.kind(), ConnectionAborted | ConnectionRefused | ConnectionReset) {
        return;
    }
    tracing::error!(%error, "accept failed");
    tokio::time::sleep(Duration::from_secs(1)).await;
}

async fn serve_connection(
    stream: TcpStream,
    peer: SocketAddr,
    router: Router,
    limits: Limits,
    watcher: Watcher,
    _slot: OwnedSemaphorePermit,
) {
    let activity = Arc::new(Activity::new());
    let io = TokioIo::new(Watched { stream, activity: activity.clone() });
    let service = hyper::service::service_fn({
        let activity = activity.clone();
        move |mut request: Request<Incoming>| {
            // What `into_make_service_with_connect_info` gave: `http::extract` reads it.
            request.extensions_mut().insert(ConnectInfo(peer));
            let in_flight = activity.request_started();
            let response = router.clone().oneshot(request);
            async move {
                let response = response.await?;
                Ok::<_, Infallible>(response.map(|body| InFlightBody { body, _in_flight: in_flight }))
            }
        }
    });
    // hyper's own header timer also runs while a kept-alive connection waits for its next
    // request (hyperium/hyper#3828), so one value would be both timeouts: `Activity` keeps them apart.
    let connection = hyper::server::conn::http1::Builder::new().header_read_timeout(None).serve_connection(io, service);
    tokio::select! {
        served = watcher.watch(connection) => {
            if let Err(error) = served {
                tracing::debug!(%peer, %error, "connection ended with an error");
            }
        }
        () = activity.expired(limits) => tracing::debug!(%peer, "closed a connection that was idle or slow to send headers"),
    }
}

/// Where a connection is between requests, for its two timeouts (Go's `ReadHeaderTimeout` and
/// `IdleTimeout`, Envoy's `request_headers_timeout` and `idle_timeout`).
#[derive(Debug, Clone, Copy)]
enum Phase {
    /// Reading a request's headers, since the connection opened or the request's first byte came.
    Head(Instant),
    /// This many requests are being answered: no timeout of ours applies (the request deadline does).
    Busy(usize),
    /// Kept alive, with nothing received since the last response ended at this instant.
    Idle(Instant),
}

struct Activity {
    phase: Mutex<Phase>,
    /// Wakes the watchdog when the phase changes; `notify_one` keeps the wake-up for a watchdog
    /// that is between two looks.
    changed: Notify,
}

impl Activity {
    fn new() -> Self {
        Self { phase: Mutex::new(Phase::Head(Instant::now())), changed: Notify::new() }
    }

    fn update(&self, change: impl FnOnce(Phase) -> Phase) {
        let mut phase = self.phase.lock().unwrap_or_else(PoisonError::into_inner);
        *phase = change(*phase);
        drop(phase);
        self.changed.notify_one();
    }

    /// Bytes came in: on an idle connection they start the next request's header timeout.
    /// Bytes during a request (its body, or a pipelined request) start nothing, so a pipelined
    /// request left unfinished gets the keep-alive timeout instead: still bounded.
    fn received(&self) {
        let idle = matches!(*self.phase.lock().unwrap_or_else(PoisonError::into_inner), Phase::Idle(_));
        if idle {
            self.update(|phase| match phase {
                Phase::Idle(_) => Phase::Head(Instant::now()),
                other => other,
            });
        }
    }

    fn request_started(self: &Arc<Self>) -> InFlight {
        self.update(|phase| match phase {
            Phase::Busy(requests) => Phase::Busy(requests + 1),
            Phase::Head(_) | Phase::Idle(_) => Phase::Busy(1),
        });
        InFlight(self.clone())
    }

    fn request_ended(&self) {
        self.update(|phase| match phase {
            Phase::Busy(requests) if requests > 1 => Phase::Busy(requests - 1),
            _ => Phase::Idle(Instant::now()),
        });
    }

    fn deadline(&self, limits: Limits) -> Option<Instant> {
        match *self.phase.lock().unwrap_or_else(PoisonError::into_inner) {
            Phase::Head(since) => Some(since + limits.header_read_timeout),
            Phase::Idle(since) => Some(since + limits.keepalive_timeout),
            Phase::Busy(_) => None,
        }
    }

    /// Completes once the connection has been idle, or reading one request's headers, too long.
    async fn expired(&self, limits: Limits) {
        loop {
            match self.deadline(limits) {
                Some(deadline) if deadline <= Instant::now() => return,
                Some(deadline) => {
                    tokio::select! {
                        () = tokio::time::sleep_until(deadline) => {}
                        () = self.changed.notified() => {}
                    }
                }
                None => self.changed.notified().await,
            }
        }
    }
}

/// A request being answered; dropped when hyper has taken the last of the response body.
struct InFlight(Arc<Activity>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.request_ended();
    }
}

/// A response body that ends its request's `InFlight` when hyper drops it.
struct InFlightBody {
    body: Body,
    _in_flight: InFlight,
}

impl hyper::body::Body for InFlightBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.get_mut().body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

/// The socket, telling `Activity` when bytes arrive.
struct Watched {
    stream: TcpStream,
    activity: Arc<Activity>,
}

impl AsyncRead for Watched {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let read = Pin::new(&mut this.stream).poll_read(cx, buf);
        if buf.filled().len() > before {
            this.activity.received();
        }
        read
    }
}

impl AsyncWrite for Watched {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
}
