//! Listening, and a thread per connection.

use crate::app::App;
use crate::error::{Result, ServeError};
use crate::http::{self, Response};
use crate::limits::MAX_CONNECTIONS;
use std::io::Write;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

/// An [`App`] listening on a TCP address.
///
/// Each connection gets a thread (at most [`MAX_CONNECTIONS`] at once) that serves its
/// requests one after another. Requests on different connections run in parallel: the model is
/// read-only and [`App`] is `Sync`.
#[derive(Debug)]
pub struct Server {
    listener: TcpListener,
    app: Arc<App>,
}

/// A [`Server`] running on its own thread ([`Server::spawn`]); dropping it stops the server.
#[derive(Debug)]
pub struct ServerHandle {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Server {
    /// Listens on `addr` (port 0: a free port, see [`local_addr`](Self::local_addr)).
    ///
    /// # Errors
    /// [`ServeError::Bind`] if the address cannot be listened on.
    pub fn bind(addr: impl ToSocketAddrs + std::fmt::Debug, app: App) -> Result<Self> {
        let listener = TcpListener::bind(&addr).map_err(|source| ServeError::Bind {
            addr: format!("{addr:?}"),
            source,
        })?;
        Ok(Self {
            listener,
            app: Arc::new(app),
        })
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    /// The page's URL, `http://HOST:PORT/`.
    pub fn url(&self) -> String {
        url_of(self.local_addr())
    }

    /// Serves until the process ends.
    ///
    /// # Errors
    /// None so far: a failed accept (a connection reset before it was taken, or no file
    /// descriptor left) is reported on stderr and the server carries on.
    pub fn run(self) -> Result<()> {
        self.accept_until(&AtomicBool::new(false));
        Ok(())
    }

    /// Serves on a new thread until the handle is dropped or [`ServerHandle::stop`]ped.
    pub fn spawn(self) -> ServerHandle {
        let addr = self.local_addr();
        let stop = Arc::new(AtomicBool::new(false));
        let thread = std::thread::Builder::new()
            .name("imdb-serve-accept".into())
            .spawn({
                let stop = Arc::clone(&stop);
                move || self.accept_until(&stop)
            })
            .expect("spawning the accept thread");
        ServerHandle {
            addr,
            stop,
            thread: Some(thread),
        }
    }

    fn accept_until(&self, stop: &AtomicBool) {
        let active = Arc::new(AtomicUsize::new(0));
        for stream in self.listener.incoming() {
            if stop.load(Ordering::SeqCst) {
                return;
            }
            let mut stream = match stream {
                Ok(stream) => stream,
                Err(e) => {
                    eprintln!("imdb-serve: accept failed: {e}");
                    // Out of file descriptors, say: give the open connections time to close.
                    std::thread::sleep(Duration::from_millis(50));
                    continue;
                }
            };
            if active.load(Ordering::SeqCst) >= MAX_CONNECTIONS {
                let busy = Response::error(
                    503,
                    format!("{MAX_CONNECTIONS} connections are open; try again shortly"),
                );
                let _ = stream.set_write_timeout(Some(Duration::from_secs(1)));
                let _ = stream.write_all(&busy.to_bytes(false, false));
                continue;
            }
            let guard = ActiveGuard::enter(&active);
            let app = Arc::clone(&self.app);
            let spawned = std::thread::Builder::new()
                .name("imdb-serve-conn".into())
                .spawn(move || {
                    let _guard = guard;
                    http::serve_connection(stream, &|request| {
                        // A bug in a handler costs its request a 500, not the connection's
                        // thread its life (nor its clients their answer).
                        catch_unwind(AssertUnwindSafe(|| app.handle(request))).unwrap_or_else(
                            |_| Response::error(500, "internal error; see the server's log"),
                        )
                    });
                });
            if let Err(e) = spawned {
                eprintln!("imdb-serve: cannot start a connection thread: {e}");
            }
        }
    }
}

impl ServerHandle {
    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The page's URL, `http://HOST:PORT/`.
    pub fn url(&self) -> String {
        url_of(self.addr)
    }

    /// Stops accepting connections and waits for the accept thread; connections already open
    /// finish on their own threads.
    pub fn stop(mut self) {
        self.stop_now();
    }

    fn stop_now(&mut self) {
        let Some(thread) = self.thread.take() else {
            return;
        };
        self.stop.store(true, Ordering::SeqCst);
        // Wake the blocking accept with a connection of our own.
        let _ = TcpStream::connect_timeout(&reachable(self.addr), Duration::from_secs(1));
        let _ = thread.join();
    }
}

impl Drop for ServerHandle {
    fn drop(&mut self) {
        self.stop_now();
    }
}

/// Counts a connection in [`Server::accept_until`]'s `active` while it lives.
struct ActiveGuard(Arc<AtomicUsize>);

impl ActiveGuard {
    fn enter(active: &Arc<AtomicUsize>) -> Self {
        active.fetch_add(1, Ordering::SeqCst);
        Self(Arc::clone(active))
    }
}

impl Drop for ActiveGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// `addr`, with an unspecified IP (`0.0.0.0`, `::`) replaced by loopback: where a client on
/// this machine reaches it.
fn reachable(addr: SocketAddr) -> SocketAddr {
    let mut addr = addr;
    if addr.ip().is_unspecified() {
        addr.set_ip(match addr {
            SocketAddr::V4(_) => Ipv4Addr::LOCALHOST.into(),
            SocketAddr::V6(_) => Ipv6Addr::LOCALHOST.into(),
        });
    }
    addr
}

fn url_of(addr: SocketAddr) -> String {
    format!("http://{}/", reachable(addr))
}
