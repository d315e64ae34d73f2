//! A proxy whose listening socket was handed to a new Rhone drains: it accepts nothing more from the
//! shared socket (a queued connection waits for the new process), answers the next request of each
//! open keep-alive connection with `Connection: close`, keeps an idle one open (no request is cut by
//! its close) and ends once every connection has closed.

use std::os::fd::AsFd;

use super::*;
use rhone::lifecycle::Control;

#[tokio::test]
async fn a_draining_proxy_finishes_its_connections_and_leaves_new_ones_to_its_successor() {
    let app = upstream("a").await;
    let table = Arc::new(RouteTable::new("localhost"));
    table.switch(Route::new("a", 1, Target::Http(app)));
    let (listener, addr) = bind().await;
    // what the new process holds: the same kernel socket
    let successor = std::net::TcpListener::from(listener.as_fd().try_clone_to_owned().unwrap());
    successor.set_nonblocking(true).unwrap();
    let successor = TcpListener::from_std(successor).unwrap();
    let (control, lifecycle) = Control::new();
    let served = tokio::spawn(rhone::proxy::serve_until(listener, table, ProxyOptions::default(), lifecycle));

    let mut busy = connect(addr).await;
    let mut idle = connect(addr).await;
    for sender in [&mut busy, &mut idle] {
        let (status, headers, _) = send(sender, get_request("a.localhost", "/")).await;
        assert_eq!(status, StatusCode::OK);
        assert!(headers.get(http::header::CONNECTION).is_none(), "keep-alive while serving");
    }

    control.drain(Duration::from_secs(3600));
    let (status, headers, body) = send(&mut busy, get_request("a.localhost", "/next")).await;
    assert_eq!(status, StatusCode::OK, "a request on an open connection is still served: {body}");
    assert_eq!(headers[http::header::CONNECTION], "close", "and the client is told to reconnect");
    assert!(busy.ready().await.is_err(), "the proxy closed that connection after the response");

    // a new connection waits in the shared queue for the successor, not for the draining proxy
    let mut late = TcpStream::connect(addr).await.unwrap();
    late.write_all(b"GET / HTTP/1.1\r\nhost: a.localhost\r\n\r\n").await.unwrap();
    let (mut taken, _) = tokio::time::timeout(Duration::from_secs(30), successor.accept()).await.expect("the successor gets it").unwrap();
    let mut head = [0u8; 14];
    taken.read_exact(&mut head).await.unwrap();
    assert_eq!(&head, b"GET / HTTP/1.1", "the request is there, unread, for the successor");

    // the idle keep-alive connection was kept open: its next request is served, then it closes
    let (status, headers, _) = send(&mut idle, get_request("a.localhost", "/later")).await;
    assert_eq!((status, &headers[http::header::CONNECTION]), (StatusCode::OK, &HeaderValue::from_static("close")));
    tokio::time::timeout(Duration::from_secs(60), served).await.expect("the proxy ends once its connections closed").unwrap().unwrap();
}
