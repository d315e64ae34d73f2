//! `sd_notify(3)` without libsystemd: under `Type=notify` (with `NotifyAccess=all`) Rhone tells
//! systemd when it serves and which process is the service's main one. After a handover that is the
//! new process, so systemd follows it and the old one may exit.

use std::ffi::OsStr;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::net::UnixDatagram;

/// `READY=1` and `MAINPID=<this process>`, when systemd asked for it (`NOTIFY_SOCKET`).
pub(crate) fn notify_ready() {
    let Some(socket) = std::env::var_os("NOTIFY_SOCKET") else { return };
    let message = format!("READY=1\nMAINPID={}\n", std::process::id());
    if let Err(error) = send(&socket, message.as_bytes()) {
        tracing::warn!(%error, "could not notify systemd (NOTIFY_SOCKET)");
    }
}

fn send(socket: &OsStr, message: &[u8]) -> io::Result<()> {
    let datagram = UnixDatagram::unbound()?;
    match socket.as_bytes().strip_prefix(b"@") {
        Some(name) => {
            use std::os::linux::net::SocketAddrExt;
            let addr = std::os::unix::net::SocketAddr::from_abstract_name(name)?;
            datagram.send_to_addr(message, &addr)?;
        }
        None => {
            datagram.send_to(message, socket)?;
        }
    }
    Ok(())
}
