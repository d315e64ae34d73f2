//! Server-sent events for logs: history first, then live lines. Each event has `id: <seq>` so a
//! reconnecting EventSource resumes after `Last-Event-ID` without duplicates.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use domain::logs::{app_channel, deploy_channel, LogEvent, Subscription};
use domain::model::LogLine;
use domain::Services;
use futures::Stream;
use tokio::sync::{broadcast, mpsc};
use tokio_stream::wrappers::ReceiverStream;

use crate::http::auth::CurrentUser;
use crate::http::path::IdPath;
use crate::http::error::ApiResult;
use crate::http::AppState;

fn line_event(l: &LogLine) -> Event {
    Event::default().event("line").id(l.seq.to_string()).data(serde_json::to_string(l).unwrap_or_default())
}

fn last_event_id(h: &HeaderMap) -> i64 {
    h.get("last-event-id").and_then(|v| v.to_str().ok()).and_then(|v| v.parse().ok()).unwrap_or(0)
}

/// `GET /api/v1/deployments/{id}/logs`: closes with `event: end` once the deployment is final.
pub async fn build(State(s): State<AppState>, _: CurrentUser, IdPath(id): IdPath, headers: HeaderMap) -> ApiResult<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
    s.services.deployment(id).await?;
    let sub = s.services.logs.subscribe(&deploy_channel(id), 20_000).await?;
    let (tx, rx) = mpsc::channel(512);
    tokio::spawn(follow(s.services.clone(), Some(id), sub, last_event_id(&headers), tx));
    Ok(sse(rx))
}

/// `GET /api/v1/apps/{slug}/logs`: the live app's stdout/stderr, recent history first.
pub async fn runtime(State(s): State<AppState>, _: CurrentUser, Path(slug): Path<String>, headers: HeaderMap) -> ApiResult<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
    let app = s.services.app(&slug).await?;
    let sub = s.services.logs.subscribe(&app_channel(app.id), 1_000).await?;
    let (tx, rx) = mpsc::channel(512);
    tokio::spawn(follow(s.services.clone(), None, sub, last_event_id(&headers), tx));
    Ok(sse(rx))
}

fn sse(rx: mpsc::Receiver<Result<Event, Infallible>>) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    Sse::new(ReceiverStream::new(rx)).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}

async fn follow(services: Services, deployment: Option<i64>, sub: Subscription, after: i64, tx: mpsc::Sender<Result<Event, Infallible>>) {
    let mut last = after;
    for l in sub.history.iter().filter(|l| l.seq > after) {
        if tx.send(Ok(line_event(l))).await.is_err() {
            return;
        }
        last = l.seq;
    }
    let is_final = |services: Services| async move {
        match deployment {
            Some(id) => services.deployment(id).await.map(|d| d.status.build_finished()).unwrap_or(true),
            None => false,
        }
    };
    let mut live = sub.live;
    if !sub.ended && !is_final(services.clone()).await || deployment.is_none() {
        let mut tick = tokio::time::interval(Duration::from_secs(2));
        loop {
            tokio::select! {
                msg = live.recv() => match msg {
                    Ok(LogEvent::Line(l)) if l.seq > last => {
                        last = l.seq;
                        if tx.send(Ok(line_event(&l))).await.is_err() {
                            return;
                        }
                    }
                    Ok(LogEvent::Line(_)) => {}
                    Ok(LogEvent::End) if deployment.is_some() => break,
                    Ok(LogEvent::End) => {}
                    Err(broadcast::error::RecvError::Lagged(n)) => {
                        let note = Event::default().event("skipped").data(n.to_string());
                        if tx.send(Ok(note)).await.is_err() {
                            return;
                        }
                    }
                    Err(broadcast::error::RecvError::Closed) => break,
                },
                _ = tick.tick() => {
                    if deployment.is_some() && is_final(services.clone()).await {
                        break;
                    }
                    if tx.is_closed() {
                        return;
                    }
                }
            }
        }
    }
    if let Some(id) = deployment {
        // lines written between the last live line and the end are in the store by now
        services.logs.flush().await;
        if let Ok(rest) = services.logs.history(&deploy_channel(id), 20_000).await {
            let seen = last;
            for l in rest.iter().filter(|l| l.seq > seen) {
                if tx.send(Ok(line_event(l))).await.is_err() {
                    return;
                }
            }
        }
        let status = services.deployment(id).await.map(|d| d.status.as_str()).unwrap_or("unknown");
        let _ = tx.send(Ok(Event::default().event("end").data(status))).await;
    }
}
