//! A TCP proxy that cuts connections.

use super::*;

/// A loopback TCP proxy to `127.0.0.1:target_port` that, when cutting is on,
/// forwards only the first N bytes the server sends on each connection and
/// then closes both sides (a server dropping mid-response). Dropping it stops
/// the listener and every open connection.
#[derive(Debug)]
pub struct CuttingProxy {
    /// The port clients connect to (127.0.0.1).
    pub port: u16,
    cut_after: Arc<Mutex<Option<usize>>>,
    connections: Arc<AtomicUsize>,
    task: JoinHandle<()>,
}

impl CuttingProxy {
    /// Starts the proxy, cutting each connection after `cut_after_server_bytes`
    /// bytes from the server.
    pub async fn start(target_port: u16, cut_after_server_bytes: usize) -> CuttingProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind the proxy");
        let port = listener.local_addr().expect("proxy address").port();
        let cut_after = Arc::new(Mutex::new(Some(cut_after_server_bytes)));
        let connections = Arc::new(AtomicUsize::new(0));
        let task = tokio::spawn({
            let cut_after = cut_after.clone();
            let connections = connections.clone();
            async move {
                // Dropped (so every connection aborted) when the proxy is dropped.
                let mut open = JoinSet::new();
                loop {
                    tokio::select! {
                        accepted = listener.accept() => {
                            let Ok((client, _)) = accepted else { continue };
                            connections.fetch_add(1, Ordering::SeqCst);
                            let cut = *cut_after.lock().expect("cut_after lock");
                            open.spawn(proxy_connection(client, target_port, cut));
                        }
                        Some(_) = open.join_next(), if !open.is_empty() => {}
                    }
                }
            }
        });
        CuttingProxy {
            port,
            cut_after,
            connections,
            task,
        }
    }

    /// Changes the cut for connections accepted from now on (`None`: plain
    /// forwarding, e.g. for a retry that must succeed).
    pub fn set_cut_after(&self, n: Option<usize>) {
        *self.cut_after.lock().expect("cut_after lock") = n;
    }

    /// How many client connections the proxy has accepted so far.
    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}

impl Drop for CuttingProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn proxy_connection(mut client: TcpStream, target_port: u16, cut: Option<usize>) {
    let Ok(mut server) = TcpStream::connect(("127.0.0.1", target_port)).await else {
        return;
    };
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let (mut client_read, mut client_write) = client.split();
    let (mut server_read, mut server_write) = server.split();
    let mut from_client = vec![0u8; 16 * 1024];
    let mut from_server = vec![0u8; 16 * 1024];
    let mut forwarded = 0usize;
    while cut.is_none_or(|limit| forwarded < limit) {
        tokio::select! {
            read = client_read.read(&mut from_client) => match read {
                Ok(0) | Err(_) => break,
                Ok(n) => if server_write.write_all(&from_client[..n]).await.is_err() { break },
            },
            read = server_read.read(&mut from_server) => match read {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    let n = cut.map_or(n, |limit| n.min(limit - forwarded));
                    if client_write.write_all(&from_server[..n]).await.is_err() {
                        break;
                    }
                    forwarded += n;
                }
            },
        }
    }
    // Both sides close when the streams drop; FIN to the client after what it got.
    let _ = client_write.shutdown().await;
}
