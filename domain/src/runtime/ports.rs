//! Who listens on a port: a new version goes live only if the socket listening on its `PORT` belongs
//! to that version's own processes, not to whoever bound the port first (a port hijack by another app).
//! Read from `/proc/net/tcp{,6}` (listening sockets and their inodes) and `/proc/<pid>/fd`.

use std::collections::HashSet;

use super::sys;

const LISTEN: &str = "0A";

/// Inodes of the TCP sockets listening on `port` (any address, IPv4 or IPv6).
pub fn listening_inodes(port: u16) -> HashSet<u64> {
    let mut out = HashSet::new();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let Ok(text) = std::fs::read_to_string(table) else { continue };
        out.extend(parse_listeners(&text, port));
    }
    out
}

/// Parses one `/proc/net/tcp`-style table: inodes of rows in state LISTEN on `port`.
fn parse_listeners(text: &str, port: u16) -> impl Iterator<Item = u64> + '_ {
    text.lines().skip(1).filter_map(move |line| {
        let f: Vec<&str> = line.split_whitespace().collect();
        // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
        let local_port = u16::from_str_radix(f.get(1)?.rsplit(':').next()?, 16).ok()?;
        (local_port == port && *f.get(3)? == LISTEN).then(|| f.get(9)?.parse().ok()).flatten()
    })
}

/// The processes of a version: its process group, plus descendants of its leader that left the group.
pub fn version_processes(leader: i32) -> Vec<i32> {
    let all = sys::all_processes();
    let mut mine: HashSet<i32> = all.iter().filter(|(_, f)| f.pgrp == leader).map(|(p, _)| *p).collect();
    mine.insert(leader);
    loop {
        let before = mine.len();
        for (pid, f) in &all {
            if mine.contains(&f.ppid) {
                mine.insert(*pid);
            }
        }
        if mine.len() == before {
            break;
        }
    }
    mine.into_iter().collect()
}

/// Who holds the listening socket(s) on `port`.
#[derive(Debug, PartialEq, Eq)]
pub enum PortOwner {
    /// Nothing listens on the port.
    Nobody,
    /// The version's own processes hold every listening socket.
    Version,
    /// Some other process holds a listening socket on the port.
    Other,
}

pub fn port_owner(port: u16, leader: i32) -> PortOwner {
    let inodes = listening_inodes(port);
    if inodes.is_empty() {
        return PortOwner::Nobody;
    }
    let mut held = HashSet::new();
    for pid in version_processes(leader) {
        let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else { continue };
        for fd in fds.flatten() {
            let Ok(target) = std::fs::read_link(fd.path()) else { continue };
            let t = target.to_string_lossy();
            if let Some(inode) = t.strip_prefix("socket:[").and_then(|s| s.strip_suffix(']')).and_then(|s| s.parse::<u64>().ok()) {
                if inodes.contains(&inode) {
                    held.insert(inode);
                }
            }
        }
    }
    if held.len() == inodes.len() {
        PortOwner::Version
    } else {
        PortOwner::Other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_listening_rows_for_the_port_only() {
        let table = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 12345 1 0000000000000000 100 0 0 10 0
   1: 0100007F:1F90 0100007F:C350 01 00000000:00000000 00:00000000 00000000     0        0 777 1 0000000000000000 100 0 0 10 0
   2: 0100007F:1F91 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 999 1 0000000000000000 100 0 0 10 0";
        let inodes: Vec<u64> = parse_listeners(table, 0x1F90).collect();
        assert_eq!(inodes, vec![12345]);
    }

    #[test]
    fn a_socket_of_this_process_is_not_owned_by_another_version() {
        let l = std::net::TcpListener::bind(("127.0.0.1", 0)).unwrap();
        let port = l.local_addr().unwrap().port();
        let me = std::process::id() as i32;
        assert_eq!(port_owner(port, me), PortOwner::Version);
        let child = std::process::Command::new("sleep").arg("30").spawn().unwrap();
        assert_eq!(port_owner(port, child.id() as i32), PortOwner::Other, "the sleep holds no socket on the port");
        let mut child = child;
        let _ = child.kill();
        let _ = child.wait();
        drop(l);
        assert_eq!(port_owner(port, me), PortOwner::Nobody);
    }
}
