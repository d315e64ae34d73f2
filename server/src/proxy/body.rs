//! The proxy's response body type, and the wrapper that keeps a version's in-flight guard alive
//! until the body has been sent.

use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use domain::routing::InFlight;
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Empty, Full};
use hyper::body::{Body, Frame, SizeHint};

/// Any error a response body may yield.
pub(crate) type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Every response the proxy produces has this body type.
pub(crate) type ProxyBody = UnsyncBoxBody<Bytes, BoxError>;

/// A body holding `bytes` in full.
pub(crate) fn full(bytes: impl Into<Bytes>) -> ProxyBody {
    Full::new(bytes.into()).map_err(|never| match never {}).boxed_unsync()
}

/// An empty body.
pub(crate) fn empty() -> ProxyBody {
    Empty::new().map_err(|never| match never {}).boxed_unsync()
}

/// Boxes `body` and ties `guard` to it: the version stays "in flight" until the body is dropped,
/// which hyper does once the body has been streamed out completely (or the client went away).
/// Each data frame's length is added to `sent` (the app's bandwidth meter) as it goes out.
pub(crate) fn guarded<B>(body: B, guard: InFlight, sent: Arc<AtomicU64>) -> ProxyBody
where
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    Guarded { inner: body.map_err(Into::into).boxed_unsync(), _guard: guard, sent }.boxed_unsync()
}

struct Guarded {
    inner: ProxyBody,
    _guard: InFlight,
    sent: Arc<AtomicU64>,
}

impl Body for Guarded {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_frame(cx);
        if let Poll::Ready(Some(Ok(frame))) = &polled {
            if let Some(data) = frame.data_ref() {
                this.sent.fetch_add(data.len() as u64, Ordering::Relaxed);
            }
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
