//! The metadata service at 100.100.100.200:80 (ECS: /latest/meta-data/…, /latest/user-data,
//! hardened mode with PUT /latest/api/token). It answers only for the instance that asks,
//! identified by the bridge the connection came in on (its firewall mark, see
//! [`crate::names::bridge_mark`]) and its source address, which anti-spoofing binds to the
//! instance's TAP; so one instance can never read another's data.
//!
//! The answers come from a [`MetadataTable`] the node fills from the store
//! ([`crate::desired::instance_metadata`]).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::os::fd::{AsRawFd, FromRawFd};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::nft::METADATA_ADDRESS;

/// What one instance may read about itself.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct InstanceMetadata {
    /// Items by path under /latest/meta-data/ (`instance-id`, `network/interfaces/macs/<mac>/vswitch-id`).
    pub items: BTreeMap<String, String>,
    pub user_data: Option<String>,
    /// Hardened mode (ModifyInstanceMetadataOptions HttpTokens=required).
    pub tokens_required: bool,
    /// HttpEndpoint=disabled turns the service off for the instance.
    pub disabled: bool,
}

type Key = (String, Ipv4Addr);

/// Who is who: (bridge, private IP) to the instance's metadata, plus issued tokens.
#[derive(Clone, Default)]
pub struct MetadataTable {
    entries: Arc<RwLock<HashMap<Key, Arc<InstanceMetadata>>>>,
    tokens: Arc<Mutex<HashMap<String, (Key, Instant)>>>,
}

impl MetadataTable {
    pub fn set(&self, bridge: &str, ip: Ipv4Addr, metadata: InstanceMetadata) {
        if let Ok(mut e) = self.entries.write() {
            e.insert((bridge.to_string(), ip), Arc::new(metadata));
        }
    }

    /// Replaces every entry (tokens of instances that are gone stop working).
    pub fn replace_all(&self, entries: Vec<(String, Ipv4Addr, InstanceMetadata)>) {
        if let Ok(mut e) = self.entries.write() {
            *e = entries
                .into_iter()
                .map(|(b, ip, m)| ((b, ip), Arc::new(m)))
                .collect();
        }
    }

    fn get(&self, key: &Key) -> Option<Arc<InstanceMetadata>> {
        self.entries.read().ok()?.get(key).cloned()
    }
}

/// The listening socket, made in the calling thread's namespace. IP_FREEBIND lets it bind
/// before any bridge holds the address.
pub(crate) fn listener() -> io::Result<std::net::TcpListener> {
    // SAFETY: plain socket calls on a descriptor we own; every return code is checked.
    unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0);
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        let listener = std::net::TcpListener::from_raw_fd(fd);
        let one: libc::c_int = 1;
        for opt in [
            (libc::IPPROTO_IP, libc::IP_FREEBIND),
            (libc::SOL_SOCKET, libc::SO_REUSEADDR),
        ] {
            let rc = libc::setsockopt(
                fd,
                opt.0,
                opt.1,
                &one as *const _ as *const libc::c_void,
                std::mem::size_of_val(&one) as libc::socklen_t,
            );
            if rc != 0 {
                return Err(io::Error::last_os_error());
            }
        }
        let addr = libc::sockaddr_in {
            sin_family: libc::AF_INET as libc::sa_family_t,
            sin_port: 80u16.to_be(),
            sin_addr: libc::in_addr {
                s_addr: u32::from(METADATA_ADDRESS).to_be(),
            },
            sin_zero: [0; 8],
        };
        if libc::bind(
            fd,
            &addr as *const _ as *const libc::sockaddr,
            std::mem::size_of_val(&addr) as libc::socklen_t,
        ) != 0
            || libc::listen(fd, 128) != 0
        {
            return Err(io::Error::last_os_error());
        }
        listener.set_nonblocking(true)?;
        Ok(listener)
    }
}

fn socket_mark(stream: &tokio::net::TcpStream) -> u32 {
    let mut mark: u32 = 0;
    let mut len = std::mem::size_of::<u32>() as libc::socklen_t;
    // SAFETY: SO_MARK writes one u32 into the buffer we pass with its length.
    let rc = unsafe {
        libc::getsockopt(
            stream.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_MARK,
            &mut mark as *mut u32 as *mut libc::c_void,
            &mut len,
        )
    };
    if rc == 0 {
        mark
    } else {
        0
    }
}

/// Serves until the listener fails. `bridges` maps marks to bridge names (kept current by the
/// network worker).
pub(crate) async fn serve(
    listener: tokio::net::TcpListener,
    table: MetadataTable,
    bridges: Arc<RwLock<HashMap<u32, String>>>,
) {
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(error = %e, "metadata service: accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let bridge = bridges
            .read()
            .ok()
            .and_then(|b| b.get(&socket_mark(&stream)).cloned());
        let table = table.clone();
        tokio::spawn(async move {
            let _ =
                tokio::time::timeout(Duration::from_secs(10), handle(stream, peer, bridge, table))
                    .await;
        });
    }
}

async fn handle(
    mut stream: tokio::net::TcpStream,
    peer: SocketAddr,
    bridge: Option<String>,
    table: MetadataTable,
) -> io::Result<()> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 2048];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut chunk).await?;
        if n == 0 || buf.len() > 16 * 1024 {
            return Ok(());
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let text = String::from_utf8_lossy(&buf);
    let mut lines = text.split("\r\n");
    let mut request_line = lines.next().unwrap_or("").split(' ');
    let method = request_line.next().unwrap_or("").to_string();
    let path = request_line.next().unwrap_or("").to_string();
    let headers: HashMap<String, String> = lines
        .take_while(|l| !l.is_empty())
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let who = match (bridge, peer.ip()) {
        (Some(b), std::net::IpAddr::V4(ip)) => Some((b, ip)),
        _ => None,
    };
    let (status, body) = respond(&table, who, &method, &path, &headers);
    let reason = match status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        _ => "Method Not Allowed",
    };
    let response = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(response.as_bytes()).await?;
    stream.shutdown().await
}

const TOKEN_TTL_HEADER: &str = "x-aliyun-ecs-metadata-token-ttl-seconds";
const TOKEN_HEADER: &str = "x-aliyun-ecs-metadata-token";

fn new_token() -> String {
    let mut bytes = [0u8; 16];
    // SAFETY: getrandom fills the buffer we pass with its length.
    let n = unsafe { libc::getrandom(bytes.as_mut_ptr() as *mut libc::c_void, bytes.len(), 0) };
    if n != bytes.len() as isize {
        // Never hand out a guessable token.
        return String::new();
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The answer (status, body) for one request from `who` (bridge, source address).
pub fn respond(
    table: &MetadataTable,
    who: Option<Key>,
    method: &str,
    path: &str,
    headers: &HashMap<String, String>,
) -> (u16, String) {
    let Some(who) = who else {
        return (404, "unknown instance\n".into());
    };
    let Some(md) = table.get(&who) else {
        return (404, "unknown instance\n".into());
    };
    if md.disabled {
        return (
            403,
            "the metadata service is disabled for this instance\n".into(),
        );
    }
    let path = path.split('?').next().unwrap_or("");
    if path == "/latest/api/token" {
        if method != "PUT" {
            return (405, "use PUT\n".into());
        }
        let ttl = headers
            .get(TOKEN_TTL_HEADER)
            .and_then(|t| t.parse::<u64>().ok())
            .filter(|t| (1..=21600).contains(t));
        let Some(ttl) = ttl else {
            return (
                400,
                "X-aliyun-ecs-metadata-token-ttl-seconds must be 1 to 21600\n".into(),
            );
        };
        let token = new_token();
        if token.is_empty() {
            return (403, "no randomness for a token\n".into());
        }
        if let Ok(mut tokens) = table.tokens.lock() {
            let now = Instant::now();
            tokens.retain(|_, (_, expiry)| *expiry > now);
            tokens.insert(token.clone(), (who, now + Duration::from_secs(ttl)));
        }
        return (200, token);
    }
    if method != "GET" && method != "HEAD" {
        return (405, "use GET\n".into());
    }
    // A token, when sent, must be this instance's and alive; hardened mode requires one.
    match headers.get(TOKEN_HEADER) {
        Some(token) => {
            let valid = table.tokens.lock().ok().is_some_and(|t| {
                t.get(token)
                    .is_some_and(|(k, expiry)| *k == who && *expiry > Instant::now())
            });
            if !valid {
                return (401, "invalid or expired token\n".into());
            }
        }
        None if md.tokens_required => {
            return (
                401,
                "this instance requires a token: PUT /latest/api/token first\n".into(),
            )
        }
        None => {}
    }
    if path == "/latest/user-data" {
        return match &md.user_data {
            Some(u) => (200, u.clone()),
            None => (404, "no user data\n".into()),
        };
    }
    let Some(item) = path
        .strip_prefix("/latest/meta-data")
        .map(|p| p.trim_start_matches('/'))
    else {
        return (404, "not found\n".into());
    };
    if let Some(value) = md.items.get(item) {
        return (200, value.clone());
    }
    // A directory: its children, sub-directories with a trailing slash.
    let dir = if item.is_empty() || item.ends_with('/') {
        item.to_string()
    } else {
        format!("{item}/")
    };
    let children: BTreeSet<String> = md
        .items
        .keys()
        .filter_map(|k| k.strip_prefix(&dir))
        .map(|rest| match rest.split_once('/') {
            Some((d, _)) => format!("{d}/"),
            None => rest.to_string(),
        })
        .collect();
    if children.is_empty() {
        (404, "not found\n".into())
    } else {
        (200, children.into_iter().collect::<Vec<_>>().join("\n"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> (MetadataTable, Key, Key) {
        let t = MetadataTable::default();
        let a = ("hbra".to_string(), Ipv4Addr::new(10, 0, 0, 2));
        let b = ("hbra".to_string(), Ipv4Addr::new(10, 0, 0, 3));
        let mut items = BTreeMap::new();
        items.insert("instance-id".to_string(), "i-a".to_string());
        items.insert(
            "network/interfaces/macs/00:16:3e:00:00:01/vswitch-id".into(),
            "vsw-1".into(),
        );
        t.set(
            &a.0,
            a.1,
            InstanceMetadata {
                items,
                user_data: Some("#cloud-config a".into()),
                ..Default::default()
            },
        );
        t.set(
            &b.0,
            b.1,
            InstanceMetadata {
                user_data: Some("#cloud-config b".into()),
                tokens_required: true,
                ..Default::default()
            },
        );
        (t, a, b)
    }

    fn get(t: &MetadataTable, who: &Key, path: &str, token: Option<&str>) -> (u16, String) {
        let mut h = HashMap::new();
        if let Some(tok) = token {
            h.insert(TOKEN_HEADER.to_string(), tok.to_string());
        }
        respond(t, Some(who.clone()), "GET", path, &h)
    }

    #[test]
    fn items_directories_and_user_data() {
        let (t, a, _) = table();
        assert_eq!(
            get(&t, &a, "/latest/meta-data/instance-id", None),
            (200, "i-a".into())
        );
        assert_eq!(
            get(&t, &a, "/latest/meta-data/", None),
            (200, "instance-id\nnetwork/".into())
        );
        assert_eq!(
            get(&t, &a, "/latest/meta-data/network/interfaces/macs", None).1,
            "00:16:3e:00:00:01/"
        );
        assert_eq!(get(&t, &a, "/latest/meta-data/nope", None).0, 404);
        assert_eq!(
            get(&t, &a, "/latest/user-data", None),
            (200, "#cloud-config a".into())
        );
        let stranger = ("hbra".to_string(), Ipv4Addr::new(10, 0, 0, 9));
        assert_eq!(get(&t, &stranger, "/latest/user-data", None).0, 404);
        let other_bridge = ("hbrb".to_string(), a.1);
        assert_eq!(get(&t, &other_bridge, "/latest/user-data", None).0, 404);
    }

    #[test]
    fn tokens_belong_to_their_instance() {
        let (t, a, b) = table();
        assert_eq!(get(&t, &b, "/latest/user-data", None).0, 401, "hardened");
        let mut h = HashMap::new();
        h.insert(TOKEN_TTL_HEADER.to_string(), "60".to_string());
        let (status, token) = respond(&t, Some(b.clone()), "PUT", "/latest/api/token", &h);
        assert_eq!((status, token.len()), (200, 32));
        assert_eq!(
            get(&t, &b, "/latest/user-data", Some(&token)),
            (200, "#cloud-config b".into())
        );
        assert_eq!(
            get(&t, &a, "/latest/user-data", Some(&token)).0,
            401,
            "b's token"
        );
        assert_eq!(get(&t, &b, "/latest/user-data", Some("forged")).0, 401);
        h.insert(TOKEN_TTL_HEADER.to_string(), "0".to_string());
        assert_eq!(
            respond(&t, Some(b.clone()), "PUT", "/latest/api/token", &h).0,
            400
        );
        assert_eq!(respond(&t, Some(b), "GET", "/latest/api/token", &h).0, 405);
    }
}
