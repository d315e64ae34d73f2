//! Passing listening sockets between processes: `SCM_RIGHTS` over the control socket. The receiver
//! gets new descriptors of the same kernel sockets (close-on-exec, so no app inherits them), with
//! their accept queues: a connection waiting in the queue is accepted by whichever process accepts
//! next, never refused.

use std::io::{self, IoSlice, IoSliceMut};
use std::mem::MaybeUninit;
use std::os::fd::{BorrowedFd, OwnedFd};

use rustix::net::{
    recvmsg, sendmsg, RecvAncillaryBuffer, RecvAncillaryMessage, RecvFlags, ReturnFlags, SendAncillaryBuffer, SendAncillaryMessage,
    SendFlags,
};
use tokio::io::Interest;
use tokio::net::UnixStream;

/// The most descriptors one message carries (the dashboard/API and the proxy listener).
pub(super) const MAX_FDS: usize = 2;

/// Sends `data` (short: it goes in one `sendmsg`) with `fds` attached to its first byte.
pub(super) async fn send(stream: &UnixStream, data: &[u8], fds: &[BorrowedFd<'_>]) -> io::Result<()> {
    if fds.len() > MAX_FDS {
        return Err(io::Error::other("too many descriptors for one message"));
    }
    let mut space = [MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(MAX_FDS))];
    let sent = stream
        .async_io(Interest::WRITABLE, || {
            let mut control = SendAncillaryBuffer::new(&mut space);
            if !control.push(SendAncillaryMessage::ScmRights(fds)) {
                return Err(io::Error::other("descriptors do not fit the control buffer"));
            }
            Ok(sendmsg(stream, &[IoSlice::new(data)], &mut control, SendFlags::NOSIGNAL)?)
        })
        .await?;
    if sent != data.len() {
        return Err(io::Error::new(io::ErrorKind::WriteZero, "message sent in part"));
    }
    Ok(())
}

/// Receives bytes into `buf` and the descriptors that came with them (at most [`MAX_FDS`]; a
/// message with more is refused and its descriptors closed).
pub(super) async fn recv(stream: &UnixStream, buf: &mut [u8]) -> io::Result<(usize, Vec<OwnedFd>)> {
    let mut space = [MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(MAX_FDS))];
    stream
        .async_io(Interest::READABLE, || {
            let mut control = RecvAncillaryBuffer::new(&mut space);
            let msg = recvmsg(stream, &mut [IoSliceMut::new(&mut *buf)], &mut control, RecvFlags::CMSG_CLOEXEC)?;
            let mut fds = Vec::new();
            for message in control.drain() {
                if let RecvAncillaryMessage::ScmRights(rights) = message {
                    fds.extend(rights);
                }
            }
            if msg.flags.contains(ReturnFlags::CTRUNC) {
                return Err(io::Error::other("more descriptors than expected"));
            }
            Ok((msg.bytes, fds))
        })
        .await
}
