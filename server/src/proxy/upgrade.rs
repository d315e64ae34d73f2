//! Upgraded connections (WebSocket and any other `Connection: upgrade` protocol): once the upstream
//! answered `101 Switching Protocols`, bytes are copied both ways between client and upstream.

use domain::routing::{InFlight, Route};
use hyper::body::Incoming;
use hyper::upgrade::OnUpgrade;
use hyper::Response;
use hyper_util::rt::TokioIo;

use super::body::{self, ProxyBody};
use super::forward::strip_hop_by_hop;

/// Hands the upstream's 101 response back to the client and, once both sides have switched
/// protocols, tunnels bytes between them. The version counts the connection open until the tunnel
/// closes (a drain waits for it; bytes, close frames included, pass untouched).
pub(crate) fn tunnel(
    route: &Route,
    guard: InFlight,
    client: OnUpgrade,
    mut upstream_response: Response<Incoming>,
) -> Response<ProxyBody> {
    let upstream = hyper::upgrade::on(&mut upstream_response);
    let slug = route.app_slug.clone();
    let deployment_id = route.deployment_id;
    let sent = route.sent_counter();
    // From here on the version counts an open connection (not a request) until the tunnel closes.
    let connection = guard.upgraded();
    tokio::spawn(async move {
        let _connection = connection;
        let (client, upstream) = match tokio::try_join!(client, upstream) {
            Ok(both) => both,
            Err(error) => {
                tracing::debug!(app.slug = %slug, deployment.id = deployment_id, %error, "upgrade did not complete");
                return;
            }
        };
        let (mut client, mut upstream) = (TokioIo::new(client), TokioIo::new(upstream));
        match tokio::io::copy_bidirectional(&mut client, &mut upstream).await {
            Ok((to_upstream, to_client)) => {
                sent.fetch_add(to_client, std::sync::atomic::Ordering::Relaxed);
                tracing::debug!(
                app.slug = %slug,
                deployment.id = deployment_id,
                to_upstream,
                to_client,
                "upgraded connection closed"
            )
            }
            Err(error) => tracing::debug!(
                app.slug = %slug,
                deployment.id = deployment_id,
                %error,
                "upgraded connection ended with an error"
            ),
        }
    });

    let (parts, _) = upstream_response.into_parts();
    let mut response = Response::new(body::empty());
    *response.status_mut() = parts.status;
    *response.headers_mut() = parts.headers;
    strip_hop_by_hop(response.headers_mut(), true);
    response
}
